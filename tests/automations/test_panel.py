"""The Automations area as staff use it, the profile section, the plan gate and isolation."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import schema_context

from nations.automations.models import Automation, Enrolment, Step
from nations.people.actions import person_create, person_tag
from tests.comms.conftest import NationClient

from .conftest import make_automation, organizer


def test_empty_state_then_build_activate_and_report(in_alpha, clock):
    owner = NationClient(in_alpha, in_alpha.owner)
    page = owner.get("/panel/automations/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "No automations yet" in text and "Create your first automation" in text
    assert 'href="/panel/automations/"' in text  # in the left navigation

    response = owner.post(
        "/panel/automations/new/",
        {"name": "Welcome path", "trigger": "tag", "trigger_tag": "newcomer", "reentry": "once"},
    )
    automation = Automation.objects.get(name="Welcome path")
    assert (
        response.status_code == 302
        and response["Location"] == f"/panel/automations/{automation.pk}/"
    )

    # Steps are added with htmx (the partial comes back) and reordered.
    added = owner.post(
        f"/panel/automations/{automation.pk}/steps/",
        {"kind": "tag", "tag": "welcomed"},
        HTTP_HX_REQUEST="true",
    )
    assert added.status_code == 200 and "Add the tag “welcomed”" in added.content.decode()
    assert "Add at least one step." not in added.content.decode()  # the notice follows
    owner.post(
        f"/panel/automations/{automation.pk}/steps/", {"kind": "wait", "days": "2"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    bad = owner.post(
        f"/panel/automations/{automation.pk}/steps/", {"kind": "wait"}, HTTP_HX_REQUEST="true"
    )
    assert bad.status_code == 422 and "Wait at least one hour." in bad.content.decode()
    wait = Step.objects.get(automation=automation, kind="wait")
    owner.post(f"/panel/automations/{automation.pk}/steps/{wait.pk}/up/", HTTP_HX_REQUEST="true")
    assert list(automation.steps.values_list("kind", flat=True)) == ["wait", "tag"]

    owner.post(f"/panel/automations/{automation.pk}/activate/")
    automation.refresh_from_db()
    assert automation.status == "active"

    ada = person_create(first_name="Ada", email="ada@example.org")
    person_tag(person=ada, names=["newcomer"])
    result = clock.tick(minutes=1)
    assert result.enrolled == 1, result
    detail = owner.get(f"/panel/automations/{automation.pk}/").content.decode()
    # The wait has run: Ada waits two days before step 2.
    assert "Ada" in detail and "Step 2: Add a tag" in detail

    section = owner.get(f"/panel/automations/person/{ada.pk}/").content.decode()
    assert "Welcome path" in section and "1 of 2 steps" in section
    clock.tick(days=2, minutes=1)
    section = owner.get(f"/panel/automations/person/{ada.pk}/").content.decode()
    assert "2 of 2 steps" in section and "Completed" in section
    profile = owner.get(f"/panel/people/{ada.pk}/").content.decode()
    assert f"/panel/automations/person/{ada.pk}/" in profile


def test_activation_refusal_is_shown(in_alpha):
    owner = NationClient(in_alpha, in_alpha.owner)
    make_automation("A", trigger="tag", trigger_tag="a", steps=[("tag", {"tag": "b"})])
    b = make_automation(
        "B", trigger="tag", trigger_tag="b", steps=[("tag", {"tag": "a"})], activate=False
    )
    response = owner.post(f"/panel/automations/{b.pk}/activate/", follow=True)
    assert "would trigger each other forever: B → A → B" in response.content.decode()
    b.refresh_from_db()
    assert b.status == "draft"


def test_plan_without_automations_shows_the_upgrade(alpha):
    with schema_context(alpha.nation.schema_name):
        connection.set_tenant(alpha.nation)
        owner = NationClient(alpha, alpha.owner)
        response = owner.get("/panel/automations/")
    assert response.status_code == 402
    assert "Automations is not in the" in response.content.decode()


def test_staff_without_permission_is_refused(in_alpha):
    staff = NationClient(in_alpha, in_alpha.staff)  # people.view only
    assert staff.get("/panel/automations/").status_code == 403


def test_nation_b_cannot_see_or_change_nation_a_automations(in_alpha, bravo, clock):
    automation = make_automation(
        "Secret", trigger="tag", trigger_tag="x", steps=[("tag", {"tag": "y"})]
    )
    step = automation.steps.get()
    ada = person_create(first_name="Ada", email="ada@example.org")
    person_tag(person=ada, names=["x"])
    clock.tick(minutes=1)
    connection.set_schema_to_public()
    organizer(bravo.nation)
    bravo_owner = NationClient(bravo, bravo.owner)
    for url in (
        f"/panel/automations/{automation.pk}/",
        f"/panel/automations/{automation.pk}/edit/",
        f"/panel/automations/{automation.pk}/steps/{step.pk}/",
        f"/panel/automations/person/{ada.pk}/",
    ):
        assert bravo_owner.get(url).status_code == 404, url
    for url in (
        f"/panel/automations/{automation.pk}/pause/",
        f"/panel/automations/{automation.pk}/delete/",
        f"/panel/automations/{automation.pk}/steps/{step.pk}/remove/",
    ):
        assert bravo_owner.post(url).status_code == 404, url
    # Bravo's own automation on the same tag, and bravo's tick: alpha's people stay untouched.
    with schema_context(bravo.nation.schema_name):
        connection.set_tenant(bravo.nation)
        make_automation("Bravo", trigger="tag", trigger_tag="x", steps=[("tag", {"tag": "z"})])
        clock.tick(minutes=1)
        assert Enrolment.objects.count() == 0
    connection.set_tenant(in_alpha.nation)
    automation.refresh_from_db()
    assert automation.status == "active" and automation.steps.count() == 1
    assert Enrolment.objects.filter(person=ada).count() == 1
    assert not ada.taggings.filter(tag__name="z").exists()


def test_the_area_speaks_french(in_alpha, clock):
    from django.conf import settings

    owner = NationClient(in_alpha, in_alpha.owner)
    owner.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    text = owner.get("/panel/automations/").content.decode()
    assert "Pas encore d'automatisations" in text or "Pas encore d&#x27;automatisations" in text
    assert "Créer votre première automatisation" in text
    make_automation("A", trigger="tag", trigger_tag="a", steps=[("tag", {"tag": "b"})])
    b = make_automation(
        "B", trigger="tag", trigger_tag="b", steps=[("tag", {"tag": "a"})], activate=False
    )
    page = owner.post(f"/panel/automations/{b.pk}/activate/", follow=True).content.decode()
    assert "se déclencheraient l&#x27;une l&#x27;autre sans fin : B → A → B" in page
    detail = owner.get(f"/panel/automations/{b.pk}/").content.decode()
    assert "Ajouter le tag « a »" in detail and "Déclencheur et règles" in detail


def test_a_birthday_automation_from_the_form_in_both_languages(in_alpha):
    from django.conf import settings

    owner = NationClient(in_alpha, in_alpha.owner)
    form = owner.get("/panel/automations/new/").content.decode()
    assert 'value="birthday"' in form and "On their birthday" in form
    response = owner.post(
        "/panel/automations/new/", {"name": "Birthdays", "trigger": "birthday", "reentry": "once"}
    )
    automation = Automation.objects.get(name="Birthdays")
    assert response.status_code == 302 and automation.trigger == "birthday"
    detail = owner.get(f"/panel/automations/{automation.pk}/").content.decode()
    assert "On their birthday" in detail and "Once a year, on their birthday" in detail
    listing = owner.get("/panel/automations/").content.decode()
    assert "On their birthday" in listing

    owner.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    form = owner.get(f"/panel/automations/{automation.pk}/edit/").content.decode()
    assert "Le jour de leur anniversaire" in form
    assert "une fois par an à chaque" in form
    detail = owner.get(f"/panel/automations/{automation.pk}/").content.decode()
    assert "Une fois par an, le jour de leur anniversaire" in detail
