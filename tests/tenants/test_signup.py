"""A visitor signs up a nation at the platform root and lands in its control panel, logged in."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import schema_exists

from tenants.actions import nation_create
from tenants.models import Domain, Membership, Nation, User
from tests.conftest import PASSWORD, new_owner

pytestmark = pytest.mark.django_db


def signup_data(**overrides) -> dict:
    data = {
        "name": "Les Amis du Parc",
        "slug": "amis-du-parc",
        "full_name": "Camille Roux",
        "email": "camille@example.org",
        "password": PASSWORD,
        "country": "FR",
        "language": "fr",
    }
    data.update(overrides)
    return data


def test_signup_creates_a_live_nation_and_logs_the_owner_into_its_panel(platform_client, world):
    page = platform_client.get("/signup/")
    assert page.status_code == 200
    response = platform_client.post("/signup/", signup_data())
    assert response.status_code == 302
    assert response["Location"].startswith("http://amis-du-parc.localhost:8000/panel/welcome/?t=")

    nation = Nation.objects.get(slug="amis-du-parc")
    assert nation.status == Nation.Status.ACTIVE
    assert (nation.language, nation.country, nation.currency, nation.timezone) == (
        "fr",
        "FR",
        "EUR",
        "Europe/Paris",
    )
    assert schema_exists(nation.schema_name)
    owner = User.objects.get(email="camille@example.org")
    assert Membership.objects.get(nation=nation).user == owner
    assert Membership.objects.get(nation=nation).role == "owner"

    nation_browser = platform_client.__class__(HTTP_HOST="amis-du-parc.localhost:8000")
    path = response["Location"].split(":8000", 1)[1]
    landed = nation_browser.get(path, follow=True)
    assert landed.redirect_chain[-1][0] == "/panel/"
    assert landed.status_code == 200
    assert "Les Amis du Parc" in landed.content.decode()
    assert "Tableau de bord" in landed.content.decode() or "Dashboard" in landed.content.decode()
    # The ticket was for one use only.
    replay = platform_client.__class__(HTTP_HOST="amis-du-parc.localhost:8000").get(path)
    assert replay.status_code == 302 and replay["Location"].startswith("/panel/login/")

    site = nation_browser.get("/")
    assert site.status_code == 200 and "Les Amis du Parc" in site.content.decode()


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("www", "reserved"),
        ("admin", "reserved"),
        ("api", "reserved"),
        ("-x", "at least 3"),
        ("-xyz", "Use lowercase letters (a-z)"),
        ("xyz-", "Use lowercase letters (a-z)"),
        ("a" * 64, "at most 40"),
        ("MyNation", "lowercase letters only"),
        ("café", "Use lowercase letters (a-z)"),
        ("my_nation", "Use lowercase letters (a-z)"),
        ("a--b", "two hyphens"),
        ("", "required"),
    ],
)
def test_bad_slugs_are_refused_with_a_clear_message(platform_client, world, slug, message):
    response = platform_client.post("/signup/", signup_data(slug=slug, language="en"))
    assert response.status_code == 200
    errors = response.context["form"].errors["slug"]
    assert any(message in e for e in errors), errors
    assert not Nation.objects.filter(name="Les Amis du Parc").exists()
    assert not User.objects.filter(email="camille@example.org").exists()


def test_errors_come_in_the_language_chosen_for_the_nation(platform_client, world):
    response = platform_client.post(
        "/signup/", signup_data(slug="www", password="123", email="pas-un-email", language="fr")
    )
    form = response.context["form"]
    assert "Ce sous-domaine est réservé" in form.errors["slug"][0]
    assert "adresse" in form.errors["email"][0].lower()
    assert any("court" in e for e in form.errors["password"])


def test_missing_fields_are_each_named(platform_client, world):
    response = platform_client.post("/signup/", {"language": "en"})
    form = response.context["form"]
    for name in ("name", "slug", "full_name", "email", "password", "country"):
        assert form.errors[name] == ["This field is required."], name


def test_weak_passwords_are_refused(platform_client, world):
    for password in ("short", "password123", "12345678901", "camille@example.org"):
        response = platform_client.post("/signup/", signup_data(password=password, language="en"))
        assert response.context["form"].errors.get("password"), password
    assert not Nation.objects.filter(slug="amis-du-parc").exists()


def test_duplicate_slug_and_email_are_refused(platform_client, alpha):
    response = platform_client.post(
        "/signup/", signup_data(slug="alpha", email=alpha.owner.email, language="en")
    )
    form = response.context["form"]
    assert form.errors["slug"] == ["This web address is already taken."]
    assert "already exists" in form.errors["email"][0]
    assert Nation.objects.filter(slug="alpha").count() == 1


def test_the_form_keeps_what_was_typed(platform_client, world):
    response = platform_client.post("/signup/", signup_data(slug="www", language="en"))
    html = response.content.decode()
    assert 'value="Les Amis du Parc"' in html and 'value="camille@example.org"' in html
    assert PASSWORD not in html  # but never the password


def test_a_logged_in_user_creates_another_nation_with_the_same_login(alpha):
    from tests.conftest import client_for

    browser = client_for("localhost", alpha.owner)
    response = browser.post(
        "/signup/", {"name": "Second", "slug": "second-one", "country": "FR", "language": "en"}
    )
    assert response.status_code == 302
    nation = Nation.objects.get(slug="second-one")
    assert nation.memberships.get().user == alpha.owner
    assert set(alpha.owner.memberships.values_list("nation__slug", flat=True)) == {
        "alpha",
        "second-one",
    }


def test_failed_provisioning_leaves_nothing_behind(platform_client, world):
    # A stray domain row takes the subdomain the new nation needs: provisioning fails after the
    # nation row, the schema clone and the owner's account were made — all must be rolled back.
    Domain.objects.create(domain="blocked.localhost", tenant=world.alpha.nation, verified=False)
    response = platform_client.post("/signup/", signup_data(slug="blocked", language="en"))
    assert response.status_code == 200
    assert response.context["form"].errors["slug"] == [
        "This web address was just taken. Please choose another."
    ]
    assert not Nation.objects.filter(slug="blocked").exists()
    assert not schema_exists("n_blocked")
    assert not User.objects.filter(email="camille@example.org").exists()
    assert not Membership.objects.filter(nation__slug="blocked").exists()


def test_provisioning_without_a_template_fails_cleanly(world):
    with connection.cursor() as cursor:
        cursor.execute('ALTER SCHEMA "nation_template" RENAME TO "nation_template_away"')
    from tenants.provisioning import TemplateMissing

    with pytest.raises(TemplateMissing):
        nation_create(
            name="X",
            slug="no-template",
            country="FR",
            language="en",
            owner=new_owner("nt@example.org"),
        )
    assert not Nation.objects.filter(slug="no-template").exists()
    assert not schema_exists("n_no_template")
    assert not User.objects.filter(email="nt@example.org").exists()
