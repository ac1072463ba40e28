"""Wide tables stack on a phone (375 px) instead of scrolling sideways: the people list of the
control panel and the operator console's nations and plans."""

from __future__ import annotations

import pytest

from tests.browser.conftest import panel_login
from tests.conftest import PASSWORD, drop_nation

from .test_signup_flow import SHOTS, committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 375, "height": 740}
SLUG = "phone-tables"
OWNER = "owner@phone-tables.example"
OPERATOR = "op@phone-tables.example"
LONG_EMAIL = "marie-christine.de-la-fontaine-dupont@association-des-amis.example.org"


def _make_nation(ids: dict) -> None:
    from django_tenants.utils import schema_context

    from nations.people import actions
    from tenants.actions import nation_create
    from tenants.management.commands.seed_demo import seed_people
    from tenants.models import User

    owner = User.objects.create_user(email=OWNER, password=PASSWORD, full_name="Camille Owner")
    nation = nation_create(
        name="Collectif des Hauts-de-France pour le climat",
        slug=SLUG,
        country="FR",
        language="en",
        owner=owner,
    )
    with schema_context(nation.schema_name):
        seed_people(30)
        marie, _ = actions.person_upsert(
            data={"first_name": "Marie-Christine", "last_name": "de La Fontaine-Dupont"},
            email=LONG_EMAIL,
            phone="06 12 34 56 78",
            source="page:petition",
        )
        twin, _ = actions.person_upsert(
            data={"first_name": "Marie-Christine", "last_name": "de La Fontaine-Dupond"},
            email="mc.delafontaine-dupond@un-autre-fournisseur.example.net",
            source="import:1",
        )
        ids.update(marie=marie.pk, twin=twin.pk)
    User.objects.create_superuser(email=OPERATOR, password=PASSWORD, full_name="Op")


def _cleanup() -> None:
    from tenants.models import User

    drop_nation(SLUG)
    User.objects.filter(email__in=[OWNER, OPERATOR]).delete()


def _assert_fits(page, what: str) -> None:
    """Neither the page nor any table scrolls sideways."""
    page_width = page.evaluate("document.documentElement.scrollWidth")
    view = page.evaluate("window.innerWidth")
    assert page_width <= view, f"{what} overflows a phone screen ({page_width}px > {view}px)"
    wide = page.evaluate(
        "[...document.querySelectorAll('.table-wrap')]"
        ".filter(w => w.scrollWidth > w.clientWidth + 1).length"
    )
    assert wide == 0, f"{what}: {wide} table(s) scroll sideways"


def _on_screen(locator) -> bool:
    box = locator.bounding_box()
    return bool(box) and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_people_list_stacks_on_a_phone(browser_page):
    page, port = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    committed(_cleanup)
    ids: dict = {}
    committed(_make_nation, ids)
    try:
        base = f"http://{SLUG}.localhost:{port}"
        panel_login(page, base, OWNER, PASSWORD)
        page.set_viewport_size(PHONE)
        page.goto(f"{base}/panel/people/?q=fontaine")
        page.screenshot(path=str(SHOTS / "people-list-search-phone.png"), full_page=True)
        page.goto(f"{base}/panel/people/?sort=-created")
        page.screenshot(path=str(SHOTS / "people-list-phone-375.png"), full_page=True)
        _assert_fits(page, "the people list")

        name = page.get_by_role("link", name="Marie-Christine de La Fontaine-Dupont")
        email = page.get_by_text(LONG_EMAIL)
        assert name.is_visible() and _on_screen(name)
        assert email.is_visible() and _on_screen(email)

        # Selecting still works with a thumb: one person, then the whole page.
        page.get_by_label("Select Marie-Christine de La Fontaine-Dupont").check()
        assert page.locator("#selected-count").inner_text() == "1 ✓"
        page.get_by_label("Select everyone on this page").check()
        assert page.locator("#selected-count").inner_text() == "32 ✓"
        # Sorting is still offered, and a name still opens the profile.
        assert page.get_by_role("link", name="Name").is_visible()
        name.click()
        assert page.get_by_role(
            "heading", name="Marie-Christine de La Fontaine-Dupont"
        ).is_visible()

        # The merge preview compares both records field by field, also on a phone.
        page.goto(f"{base}/panel/people/{ids['marie']}/merge/{ids['twin']}/")
        page.screenshot(path=str(SHOTS / "person-merge-phone.png"), full_page=True)
        _assert_fits(page, "the merge preview")
        assert page.get_by_text(LONG_EMAIL).first.is_visible()

        # On a laptop the list is still a table with its headers.
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{base}/panel/people/")
        page.screenshot(path=str(SHOTS / "people-list-laptop.png"))
        assert page.get_by_role("columnheader", name="Email").is_visible()
        assert page.get_by_role("columnheader", name="City").is_visible()
    finally:
        committed(_cleanup)


def test_operator_tables_stack_on_a_phone(browser_page):
    page, port = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    committed(_cleanup)
    ids: dict = {}
    committed(_make_nation, ids)
    try:
        root = f"http://localhost:{port}"
        page.goto(f"{root}/login/")
        page.get_by_label("Email").fill(OPERATOR)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.set_viewport_size(PHONE)

        page.goto(f"{root}/operator/?q={SLUG}")
        page.screenshot(path=str(SHOTS / "operator-nations-phone.png"), full_page=True)
        _assert_fits(page, "the operator's nation list")
        nation = page.get_by_role("link", name="Collectif des Hauts-de-France pour le climat")
        assert nation.is_visible() and _on_screen(nation)
        assert _on_screen(page.get_by_text(f"{SLUG}.localhost").first)

        page.goto(f"{root}/operator/billing/plans/")
        page.screenshot(path=str(SHOTS / "operator-plans-phone.png"), full_page=True)
        _assert_fits(page, "the operator's plans")
        retire = page.get_by_role("button", name="Retire").first
        assert retire.is_visible() and _on_screen(retire)

        page.goto(f"{root}/operator/billing/")
        page.screenshot(path=str(SHOTS / "operator-revenue-phone-375.png"), full_page=True)
        _assert_fits(page, "the operator's revenue page")

        page.goto(f"{root}/operator/?q={SLUG}")
        nation.click()  # the row's link still opens the nation
        assert page.get_by_role("heading", name="Collectif des Hauts-de-France").is_visible()
    finally:
        committed(_cleanup)
