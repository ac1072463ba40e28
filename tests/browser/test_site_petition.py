"""The website's first petition, in a real browser: staff create it in the panel, a visitor signs
it on a phone, and the signer shows up, tagged, in the people base."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.test_signup_flow import committed
from tests.conftest import PASSWORD, drop_nation

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
SHOTS = Path(os.environ.get("NATIONS_SCREENSHOTS", ".dev/screenshots"))


def _make_nation():
    from tenants.actions import Owner, nation_create

    nation_create(
        name="Vélo Ville",
        slug="velo-ville",
        country="FR",
        language="en",
        owner=Owner(full_name="Ines Staff", email="ines@velo.example", password=PASSWORD),
    )


def test_create_a_petition_sign_it_on_a_phone_and_find_the_signer(browser_page):
    page, port = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = f"http://velo-ville.localhost:{port}"
    committed(drop_nation, "velo-ville")
    committed(_make_nation)
    try:
        page.goto(f"{base}/panel/login/")
        page.get_by_label("Email").fill("ines@velo.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/panel/")

        page.goto(f"{base}/panel/website/")
        page.get_by_role("link", name="New page").first.click()
        page.get_by_label("Type").select_option("petition")
        page.get_by_label("Title").fill("Safe bike lanes now")
        page.get_by_role("button", name="Create the draft").click()
        page.get_by_label("Petition target").fill("The Mayor")
        page.get_by_label("Goal").fill("500")
        page.get_by_label("Tags for people who submit").fill("petition:bike-lanes")
        page.locator(".rte-box").click()
        page.keyboard.type("The boulevard is dangerous for children on bikes.")
        page.screenshot(path=str(SHOTS / "site-panel-petition-edit.png"), full_page=True)
        page.get_by_role("button", name="Save and publish").click()
        assert page.locator(".badge-active").first.is_visible()

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/safe-bike-lanes-now/")
        assert page.get_by_role("heading", name="Safe bike lanes now").is_visible()
        assert "dangerous for children" in page.content()
        page.get_by_label("First name").fill("Léa")
        page.get_by_label("Last name").fill("Moreau")
        page.get_by_role("textbox", name="Email").fill("lea@example.org")
        page.get_by_label("City").fill("Lyon")
        page.get_by_label("Keep me informed by email").check()
        page.screenshot(path=str(SHOTS / "site-petition-phone.png"), full_page=True)
        page.get_by_role("button", name="Sign").click()
        assert page.get_by_role("heading", name="Thank you!").is_visible()
        assert "?recruiter=" in page.locator(".share input").input_value()
        page.screenshot(path=str(SHOTS / "site-thanks-phone.png"), full_page=True)

        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{base}/panel/people/")
        page.get_by_role("link", name="Léa Moreau").first.click()
        assert "petition:bike-lanes" in page.content()
        page.screenshot(path=str(SHOTS / "site-signer-in-people.png"), full_page=True)
    finally:
        committed(drop_nation, "velo-ville")
