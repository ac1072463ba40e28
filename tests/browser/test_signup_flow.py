"""The first minute of a new nation, in a real browser: sign up, land in the panel, see the site."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tenants.models import Nation
from tests.conftest import drop_nation

# django_db makes pytest-django create the test database even when only browser tests run; the
# live server commits on its own connections, so clean-up runs on one too (see committed()).
pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def committed(func, *args):
    """Run func on a fresh connection in autocommit, outside the test's transaction."""
    import threading

    from django.db import connections

    errors = []

    def run():
        try:
            func(*args)
        except Exception as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]


SHOTS = Path(os.environ.get("NATIONS_SCREENSHOTS", ".dev/screenshots"))


def test_sign_up_and_land_in_the_control_panel(browser_page):
    page, port = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(f"http://localhost:{port}/signup/")
        page.get_by_label("Organisation name").fill("Collectif Vélo")
        page.get_by_label("Web address").fill("collectif-velo")
        page.get_by_label("Your name").fill("Inès Moreau")
        page.get_by_label("Your email").fill("ines@example.org")
        page.get_by_label("Password").fill("une-phrase-de-passe-solide")
        page.get_by_label("Country").select_option("FR")
        page.get_by_label("Language of your nation").select_option("fr")
        page.screenshot(path=str(SHOTS / "signup-filled.png"))
        page.get_by_role("button", name="Create my nation").click()

        page.wait_for_url(f"http://collectif-velo.localhost:{port}/panel/")
        assert page.locator(".sidenav .nation-name").inner_text() == "Collectif Vélo"
        assert page.get_by_role("link", name="Personnes").is_visible()  # the nation speaks French
        page.screenshot(path=str(SHOTS / "panel-dashboard.png"))

        page.goto(f"http://collectif-velo.localhost:{port}/")
        assert page.locator("h1").inner_text() == "Collectif Vélo"

        # The session is host-only: the platform host does not know this login.
        page.goto(f"http://localhost:{port}/nations/")
        assert "/login/" in page.url
    finally:
        committed(drop_nation, "collectif-velo")
    assert not Nation.objects.filter(slug="collectif-velo").exists()


def test_signup_errors_show_next_to_the_fields(browser_page):
    page, port = browser_page
    page.goto(f"http://localhost:{port}/signup/")
    page.get_by_label("Web address").fill("www")
    page.get_by_label("Language of your nation").select_option("en")
    page.get_by_role("button", name="Create my nation").click()
    page.wait_for_load_state()
    slug_field = page.locator(".field.has-error", has=page.locator("input[name=slug]"))
    assert "reserved" in slug_field.inner_text()
    assert page.locator(".field.has-error").count() >= 5
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "signup-errors-phone.png"), full_page=True)
