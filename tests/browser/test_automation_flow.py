"""An automation in Chromium: a staff member builds "tag → wait 1 day → add a tag" with the
step builder (htmx), turns it on, and after a tick two days later sees the person's progress on
their profile and the per-step report."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.actions import nation_create
from tests.browser.conftest import panel_login
from tests.conftest import PASSWORD, drop_nation, new_owner

from .test_signup_flow import SHOTS, committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SLUG = "automation-flow"


def _seed() -> None:
    nation_create(
        name="Path Nation", slug=SLUG, country="FR", language="en",
        owner=new_owner("path.owner@example.org"), plan="organizer",
    )  # fmt: skip


def _in_nation(func):
    def run():
        from tenants.models import Nation

        nation = Nation.objects.get(slug=SLUG)
        with schema_context(nation.schema_name):
            connection.set_tenant(nation)
            func()
        connection.set_schema_to_public()

    return run


@_in_nation
def _tag_someone() -> None:
    from nations.people.actions import person_create, person_tag

    ada = person_create(first_name="Ada", last_name="Lovelace", email="ada@path.test")
    person_tag(person=ada, names=["newcomer"])


@_in_nation
def _ticks() -> None:
    from nations.automations.engine import tick_nation

    now = timezone.now()
    tick_nation(now=now + timedelta(minutes=1))
    tick_nation(now=now + timedelta(days=2))


def _drop() -> None:
    from tests.conftest import drop_nation

    drop_nation(SLUG)


def test_a_staff_member_builds_an_automation_and_follows_a_person_through_it(browser_page):
    page, port = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    committed(_seed)
    try:
        base = f"http://{SLUG}.localhost:{port}"
        panel_login(page, base, "path.owner@example.org", PASSWORD)

        page.locator(".sidenav").get_by_role("link", name="Automations").click()
        assert page.get_by_role("heading", name="No automations yet").is_visible()
        page.screenshot(path=str(SHOTS / "automations-empty.png"), full_page=True)
        page.locator(".empty").get_by_role("link", name="Create your first automation").click()
        page.get_by_label("Name").fill("Welcome path")
        page.get_by_label("Gets a tag").check()
        assert not page.get_by_label("Minimum gift").is_visible()  # only the tag trigger's field
        page.get_by_label("Tag", exact=True).fill("newcomer")
        page.get_by_role("button", name="Create and add steps").click()
        page.wait_for_url(re.compile(r".*/automations/\d+/$"))

        steps = page.locator("#steps")
        assert steps.get_by_role("heading", name="No steps yet").is_visible()
        page.get_by_label("Step", exact=True).select_option("wait")
        assert page.get_by_label("Days").is_visible()
        assert not page.get_by_label("Subject").is_visible()  # only the wait's fields
        page.get_by_label("Days").fill("1")
        page.get_by_role("button", name="Add the step").click()
        steps.get_by_text("Wait 1 d", exact=True).wait_for()
        page.get_by_label("Step", exact=True).select_option("tag")
        page.get_by_label("Tag", exact=True).fill("welcomed")
        page.get_by_role("button", name="Add the step").click()
        steps.get_by_text("Add the tag “welcomed”", exact=True).wait_for()
        page.screenshot(path=str(SHOTS / "automations-steps.png"), full_page=True)
        page.get_by_role("button", name="Turn on").click()
        assert page.get_by_text("The automation is on").is_visible()

        committed(_tag_someone)
        committed(_ticks)
        page.reload()
        assert page.locator(".stat", has_text="Completed").get_by_text("1").is_visible()
        page.screenshot(path=str(SHOTS / "automations-detail.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "automations-detail-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        page.get_by_role("link", name="Ada Lovelace").click()
        section = page.locator("#automations")
        section.get_by_text("2 of 2 steps").wait_for()
        assert section.get_by_role("link", name="Welcome path").is_visible()
        assert section.get_by_role("progressbar").is_visible()
        section.screenshot(path=str(SHOTS / "automations-profile.png"))

        page.locator(".sidenav").get_by_role("link", name="Automations").click()
        assert page.get_by_role("link", name="Welcome path").is_visible()
        page.screenshot(path=str(SHOTS / "automations-list.png"), full_page=True)
    finally:
        committed(_drop)


BIRTHDAY_SLUG = "birthday-flow"


def _in_birthday_nation(func):
    def run():
        from tenants.models import Nation

        nation = Nation.objects.get(slug=BIRTHDAY_SLUG)
        with schema_context(nation.schema_name):
            connection.set_tenant(nation)
            func(nation)
        connection.set_schema_to_public()

    return run


@_in_birthday_nation
def _born_today_then_tick(nation) -> None:
    from datetime import date

    from nations.automations.engine import tick_nation
    from nations.panel.fields import nation_zone
    from nations.people.actions import person_create, person_update

    now = timezone.now() + timedelta(minutes=1)
    today = now.astimezone(nation_zone(nation)).date()
    ada = person_create(first_name="Ada", last_name="Lovelace", email="ada@birthday.test")
    person_update(person=ada, changes={"birthdate": date(2000, today.month, today.day)})
    tick_nation(now=now)


def test_a_staff_member_builds_a_birthday_automation(browser_page):
    page, port = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    committed(
        lambda: nation_create(
            name="Birthday Nation",
            slug=BIRTHDAY_SLUG,
            country="FR",
            language="en",
            owner=new_owner("birthday.owner@example.org"),
            plan="organizer",
        )  # fmt: skip
    )
    try:
        base = f"http://{BIRTHDAY_SLUG}.localhost:{port}"
        panel_login(page, base, "birthday.owner@example.org", PASSWORD)
        page.locator(".sidenav").get_by_role("link", name="Automations").click()
        page.locator(".empty").get_by_role("link", name="Create your first automation").click()
        page.get_by_label("Name").fill("Birthday wishes")
        page.get_by_label("On their birthday").check()
        assert not page.get_by_label("Tag", exact=True).is_visible()  # it needs no other field
        page.screenshot(path=str(SHOTS / "automations-birthday-form.png"), full_page=True)
        page.get_by_role("button", name="Create and add steps").click()
        page.wait_for_url(re.compile(r".*/automations/\d+/$"))
        assert page.locator(".details").get_by_text("On their birthday", exact=True).is_visible()
        assert page.get_by_text("Once a year, on their birthday").is_visible()
        page.get_by_label("Step", exact=True).select_option("tag")
        page.get_by_label("Tag", exact=True).fill("birthday-wished")
        page.get_by_role("button", name="Add the step").click()
        page.locator("#steps").get_by_text("Add the tag “birthday-wished”", exact=True).wait_for()
        page.get_by_role("button", name="Turn on").click()
        assert page.get_by_text("The automation is on").is_visible()

        committed(_born_today_then_tick)
        page.reload()
        assert page.locator(".stat", has_text="Completed").get_by_text("1").is_visible()
        assert page.get_by_role("link", name="Ada Lovelace").is_visible()
        page.screenshot(path=str(SHOTS / "automations-birthday-detail.png"), full_page=True)
        page.locator(".sidenav").get_by_role("link", name="Automations").click()
        assert page.get_by_text("On their birthday", exact=True).is_visible()
    finally:
        committed(drop_nation, BIRTHDAY_SLUG)
