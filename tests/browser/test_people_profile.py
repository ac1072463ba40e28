"""The people list and a profile in Chromium: search, sort, tags with htmx, the merge preview;
on a laptop and on a phone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.test_signup_flow import committed
from tests.conftest import PASSWORD, drop_nation

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SHOTS = Path(os.environ.get("NATIONS_SCREENSHOTS", ".dev/screenshots"))
SLUG = "people-browser"


def _make_nation(result: dict) -> None:
    from django_tenants.utils import schema_context

    from nations.people import actions
    from tenants.actions import nation_create
    from tenants.management.commands.seed_demo import seed_people
    from tenants.models import User

    owner = User.objects.create_user(
        email="owner@people-browser.example", password=PASSWORD, full_name="Camille Owner"
    )
    nation = nation_create(
        name="Collectif Rhône", slug=SLUG, country="FR", language="en", owner=owner
    )
    with schema_context(nation.schema_name):
        seed_people(120)
        helene, _ = actions.person_upsert(
            data={
                "first_name": "Hélène",
                "last_name": "Dupont",
                "city": "Lyon",
                "postal_code": "69001",
            },
            email="helene.dupont@example.org",
            phone="06 12 34 56 78",
            source="page:petition",
            tags=["volunteer"],
            consents={"email": ("granted", "I agree to receive news by email.")},
        )
        actions.note_add(person=helene, body="Prefers calls after 6pm.")
        twin, _ = actions.person_upsert(
            data={
                "first_name": "Helene",
                "last_name": "Dupond",
                "postal_code": "69001",
                "employer": "SNCF",
            },
            email="h.dupond@work.example",
            source="import:3",
        )
        result.update(helene=helene.pk, twin=twin.pk)


def _login(page, port) -> str:
    base = f"http://{SLUG}.localhost:{port}"
    page.goto(f"{base}/panel/login/")
    page.get_by_label("Email").fill("owner@people-browser.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/panel/")
    return base


def test_people_list_profile_tags_and_merge(browser_page):
    page, port = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    ids: dict = {}
    committed(_make_nation, ids)
    try:
        base = _login(page, port)
        page.goto(f"{base}/panel/people/")
        assert page.locator("table.table-people tbody tr").count() == 50
        assert page.get_by_role("link", name="Next").is_visible()
        page.screenshot(path=str(SHOTS / "people-list.png"), full_page=True)

        page.get_by_label("Search people").fill("helene dupon")
        page.get_by_role("button", name="Search").click()
        assert page.get_by_role("link", name="Hélène Dupont").is_visible()
        page.get_by_role("link", name="Name").click()  # sort by name within the search
        assert "sort=name" in page.url

        page.get_by_role("link", name="Hélène Dupont").click()
        assert page.get_by_role("heading", name="Hélène Dupont").is_visible()
        assert (
            page.locator("#consent dd.src")
            .first.get_by_text("I agree to receive news")
            .is_visible()
        )
        # Tags with htmx: the card updates in place.
        page.get_by_placeholder("Add a tag").fill("phone bank")
        page.locator("#tags").get_by_role("button", name="Add").click()
        page.locator("#tags .chip", has_text="phone bank").wait_for()
        page.get_by_role("button", name="Remove the tag volunteer").click()
        page.locator("#tags .chip", has_text="volunteer").wait_for(state="detached")
        page.screenshot(path=str(SHOTS / "person-profile.png"), full_page=True)

        page.goto(f"{base}/panel/people/duplicates/")
        assert page.get_by_text("similar name, same postal code").first.is_visible()
        page.screenshot(path=str(SHOTS / "people-duplicates.png"), full_page=True)
        page.goto(f"{base}/panel/people/{ids['helene']}/merge/{ids['twin']}/")
        page.screenshot(path=str(SHOTS / "person-merge.png"), full_page=True)
        page.get_by_role("button", name="Merge Helene Dupond into Hélène Dupont").click()
        page.get_by_text("Merged with Helene Dupond").wait_for()

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/panel/people/{ids['helene']}/")
        assert page.get_by_role("heading", name="Hélène Dupont").is_visible()
        page.screenshot(path=str(SHOTS / "person-profile-phone.png"), full_page=True)
        page.goto(f"{base}/panel/people/")
        page.screenshot(path=str(SHOTS / "people-list-phone.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the list overflows a phone screen ({width}px)"
    finally:
        committed(drop_nation, SLUG)
