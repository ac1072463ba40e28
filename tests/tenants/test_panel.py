"""The control panel shell: navigation, empty states, roles, staff invitations, languages."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from nations.people.models import Person
from tenants.models import Membership, User
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_dashboard_shows_the_areas_and_counts(alpha):
    html = client_for(alpha.host, alpha.owner, alpha.nation).get("/panel/").content.decode()
    for area in ("People", "Website", "Donations", "Communication", "Settings"):
        assert f">{area}</a>" in html
    assert "Alpha Nation" in html


def test_empty_states_say_what_to_do_next(alpha):
    panel = client_for(alpha.host, alpha.owner, alpha.nation)
    with schema_context(alpha.nation.schema_name):
        Person.objects.all().delete()
    assert "import a CSV or publish a signup page" in panel.get("/panel/people/").content.decode()
    assert "Connect a Stripe account" in panel.get("/panel/donations/").content.decode()


def test_people_search(alpha):
    panel = client_for(alpha.host, alpha.owner, alpha.nation)
    marker = alpha.markers[0]
    assert marker.email in panel.get("/panel/people/?q=markeralpha").content.decode()
    assert marker.email not in panel.get("/panel/people/?q=nobody-here").content.decode()


def test_staff_permissions_are_enforced(alpha):
    staff = client_for(alpha.host, alpha.staff, alpha.nation)  # people.view only
    assert staff.get("/panel/people/").status_code == 200
    assert staff.get("/panel/settings/").status_code == 403
    assert staff.get("/panel/settings/staff/").status_code == 403
    response = staff.post("/panel/settings/staff/", {"email": "evil@example.org", "role": "owner"})
    assert response.status_code == 403
    assert not User.objects.filter(email="evil@example.org").exists()


def test_owner_invites_a_staff_member_who_sets_a_password_by_email(
    alpha, mailbox, eager_tasks, django_capture_on_commit_callbacks
):
    panel = client_for(alpha.host, alpha.owner, alpha.nation)
    with django_capture_on_commit_callbacks(execute=True):
        response = panel.post(
            "/panel/settings/staff/",
            {
                "email": "New.Volunteer@Example.org",
                "full_name": "Nouvelle Bénévole",
                "role": "staff",
                "permissions": ["people.view", "people.edit"],
            },
        )
    assert response.status_code == 302
    member = Membership.objects.get(nation=alpha.nation, user__email="new.volunteer@example.org")
    assert member.permissions == ["people.view", "people.edit"]
    [invite] = mailbox.to("new.volunteer@example.org")
    assert "Alpha Nation" in invite["Subject"]
    assert f"http://{alpha.host}/panel/password-reset/" in invite.get_body(("plain",)).get_content()


def test_an_admin_cannot_add_an_owner_and_the_last_owner_stays(alpha):
    admin = User.objects.create_user(email="admin@alpha.example", password="x" * 12, full_name="A")
    Membership.objects.create(user=admin, nation=alpha.nation, role="admin")
    panel = client_for(alpha.host, admin, alpha.nation)
    response = panel.post("/panel/settings/staff/", {"email": "o@example.org", "role": "owner"})
    assert "Only an owner" in response.content.decode()
    owner_membership = Membership.objects.get(nation=alpha.nation, role="owner")
    panel.post(f"/panel/settings/staff/{owner_membership.pk}/remove/")
    assert Membership.objects.filter(pk=owner_membership.pk).exists()


def test_settings_change_language_and_the_panel_follows(alpha):
    panel = client_for(alpha.host, alpha.owner, alpha.nation)
    response = panel.post(
        "/panel/settings/",
        {
            "name": "Alpha Nation",
            "language": "fr",
            "country": "FR",
            "timezone": "Europe/Paris",
            "currency": "EUR",
        },
    )
    assert response.status_code == 302
    html = panel.get("/panel/").content.decode()
    assert '<html lang="fr">' in html
    assert "Personnes" in html and "Paramètres" in html
