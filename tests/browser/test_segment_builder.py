"""The segment builder in Chromium: add conditions, watch the live count change, save."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from nations.people.actions import person_tag
from nations.people.models import Person, Segment
from tenants.actions import nation_create
from tests.browser.conftest import panel_login
from tests.conftest import PASSWORD, drop_nation, new_owner

from .test_signup_flow import SHOTS, committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SLUG = "segment-builder"


def _seed() -> None:
    nation = nation_create(
        name="Builder Nation",
        slug=SLUG,
        country="FR",
        language="en",
        owner=new_owner("builder.owner@example.org"),
    )
    with schema_context(nation.schema_name):
        for i, (first, city, postal, tags) in enumerate(
            [
                ("Hélène", "Paris", "75011", ["volunteer"]),
                ("Jules", "Paris", "75018", ["volunteer", "donor"]),
                ("Amélie", "Lyon", "69003", ["volunteer"]),
                ("Oliver", "London", "SW1A1AA", []),
                ("Chloé", "Paris", "75001", ["donor"]),
            ]
        ):
            person = Person.objects.create(
                first_name=first,
                last_name="Test",
                email=f"p{i}@builder.test",
                city=city,
                postal_code=postal,
                email_consent="granted" if i % 2 == 0 else "unknown",
            )
            if tags:
                person_tag(person=person, names=tags)


def settle(page) -> None:
    """Wait until htmx has no request in flight, as a person would before the next click."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function("!document.querySelector('.htmx-request')")


def count_text(page) -> str:
    return page.locator("#segment-results [data-count]").get_attribute("data-count")


def test_build_a_segment_and_save_it(browser_page):
    page, port = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    committed(_seed)
    try:
        base = f"http://{SLUG}.localhost:{port}"
        panel_login(page, base, "builder.owner@example.org", PASSWORD)

        page.goto(f"{base}/panel/people/")
        page.get_by_role("link", name="Segments").click()
        page.get_by_role("link", name="Build your first segment").click()
        assert page.get_by_role("heading", name="New segment").is_visible()
        assert page.get_by_text("Pick at least one tag.").is_visible()  # the empty first condition

        # Tags: any of "volunteer" -> 3 people, shown live.
        page.locator(".seg-condition").first.get_by_label("volunteer").check()
        page.wait_for_function(
            "document.querySelector('#segment-results [data-count]')?.dataset.count === '3'"
        )
        assert page.locator("#segment-results").get_by_role("link", name="Hélène Test").is_visible()

        # + Condition, switch it to the postal code, "starts with" 75 -> 2 people.
        settle(page)
        page.get_by_role("button", name="+ Condition").first.click()
        second = page.locator(".seg-condition").nth(1)
        second.wait_for()
        settle(page)
        second.get_by_label("Field").select_option("postal_code")
        page.wait_for_function(
            "document.querySelectorAll('.seg-condition')[1]?.querySelector('input[type=text]')"
        )
        settle(page)
        second = page.locator(".seg-condition").nth(1)
        second.get_by_label("Value").fill("75")
        page.wait_for_function(
            "document.querySelector('#segment-results [data-count]')?.dataset.count === '2'"
        )

        # A NOT group: exclude donors -> Hélène only.
        settle(page)
        page.get_by_role("button", name="+ Group").first.click()
        group = page.locator(".seg-subgroup")
        group.wait_for()
        settle(page)
        group.get_by_label("exclude them instead (NOT)").check()
        group.get_by_label("donor").check()
        page.wait_for_function(
            "document.querySelector('#segment-results [data-count]')?.dataset.count === '1'"
        )
        assert count_text(page) == "1"
        page.screenshot(path=str(SHOTS / "segment-builder.png"), full_page=True)

        page.get_by_label("Segment name").fill("Paris volunteers, not donors")
        page.get_by_role("button", name="Save segment").click()
        page.wait_for_url(re.compile(r".*/panel/people/segments/\d+/$"))
        assert page.get_by_text("saved").first.is_visible()
        assert count_text(page) == "1"

        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "segment-builder-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.get_by_role("link", name="← Segments").click()
        row = page.get_by_role("row", name=re.compile("Paris volunteers, not donors"))
        assert row.get_by_role("cell", name="1", exact=True).is_visible()
        page.screenshot(path=str(SHOTS / "segment-list.png"))

        def saved() -> None:
            from tenants.models import Nation

            with schema_context(Nation.objects.get(slug=SLUG).schema_name):
                segment = Segment.objects.get()
                assert segment.definition["match"] == "all"
                assert segment.definition["conditions"][2]["group"]["negate"] is True

        committed(saved)
    finally:
        committed(drop_nation, SLUG)


def test_quick_changes_are_not_lost(browser_page):
    """Clicks and typing made while the builder is still answering the previous change all
    end up in the builder (structural actions are synchronised; the builder is locked meanwhile)."""
    page, port = browser_page
    committed(_seed)
    try:
        base = f"http://{SLUG}.localhost:{port}"
        panel_login(page, base, "builder.owner@example.org", PASSWORD)
        page.goto(f"{base}/panel/people/segments/new/")
        page.locator(".seg-condition").first.get_by_label("volunteer").check()
        # Two "+ Condition" in a row, without waiting for the first answer: three conditions.
        page.get_by_role("button", name="+ Condition").first.click()
        page.get_by_role("button", name="+ Condition").first.click()
        settle(page)
        assert page.locator(".seg-condition").count() == 3
        # The first condition's tag, checked before both, survived both re-renders.
        assert page.locator(".seg-condition").first.get_by_label("volunteer").is_checked()
        page.locator(".seg-condition").nth(1).get_by_label("Field").select_option("postal_code")
        page.locator(".seg-condition").nth(1).get_by_label("Value").fill("75")
        # Remove the third condition at once: the typed prefix must survive the re-render.
        page.locator(".seg-condition").nth(2).get_by_role(
            "button", name="Remove this condition"
        ).click()
        settle(page)
        assert page.locator(".seg-condition").count() == 2
        assert page.locator(".seg-condition").nth(1).get_by_label("Value").input_value() == "75"
        page.wait_for_function(
            "document.querySelector('#segment-results [data-count]')?.dataset.count === '2'"
        )
    finally:
        committed(drop_nation, SLUG)
