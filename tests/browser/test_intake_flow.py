"""A petition signed on a phone while the site is busy: the visitor is thanked at once with a
working share link, the intake worker records the signature, and staff see on the responses
page what is still being recorded and what could not be, and record it again."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser.conftest import panel_login
from tests.browser.test_signup_flow import committed
from tests.conftest import PASSWORD, drop_nation

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
SHOTS = Path(os.environ.get("NATIONS_SCREENSHOTS", ".dev/screenshots"))
SLUG = "intake-flow"
PHONE = {"width": 375, "height": 740}


def _make_nation():
    from django_tenants.utils import tenant_context

    from nations.site.actions import page_publish, page_save
    from nations.site.models import Page
    from tenants.actions import Owner, nation_create

    nation = nation_create(
        name="Rivière Propre",
        slug=SLUG,
        country="FR",
        language="en",
        owner=Owner(full_name="Inès Staff", email="ines@riviere.example", password=PASSWORD),
    )
    with tenant_context(nation):
        page_publish(
            page=page_save(
                page=Page(),
                data={
                    "kind": "petition",
                    "title": "Clean the river",
                    "slug": "river",
                    "goal": 100,
                    "tags": ["river"],
                },
            )
        )


def _work():
    from django_tenants.utils import tenant_context

    from nations.site import intake
    from tenants.models import Nation

    with tenant_context(Nation.objects.get(slug=SLUG)):
        intake.work()


def _break_first_waiting():
    from django_tenants.utils import schema_context

    from nations.site.models import Intake
    from tenants.models import Nation

    with schema_context(Nation.objects.get(slug=SLUG).schema_name):
        row = Intake.objects.filter(processed_at__isnull=True).order_by("id").first()
        row.payload["data"]["email"] = "broken address"  # as if stored by an older version
        row.save()


def _repair():
    from django_tenants.utils import schema_context

    from nations.site.models import Intake
    from tenants.models import Nation

    with schema_context(Nation.objects.get(slug=SLUG).schema_name):
        row = Intake.objects.exclude(error="").get()
        row.payload["data"]["email"] = "lea@example.org"
        row.save()


def _sign(page, base: str, first: str, email: str):
    page.goto(f"{base}/river/")
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill("Martin")
    page.get_by_role("textbox", name="Email").fill(email)
    page.get_by_role("button", name="Sign").click()
    page.wait_for_url("**/river/thanks/**")


def test_a_busy_petition_thanks_at_once_and_staff_see_what_is_recorded(browser_page, settings):
    page, port = browser_page
    settings.SITE_INLINE_SUBMISSIONS = 0  # every signature goes through the intake
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = f"http://{SLUG}.localhost:{port}"
    committed(drop_nation, SLUG)
    committed(_make_nation)
    try:
        page.set_viewport_size(PHONE)
        _sign(page, base, "Léa", "lea@example.org")
        share = page.get_by_label("Your share link").input_value()
        assert "/river/?recruiter=" in share  # ready before the signature is even recorded
        _sign(page, base, "Hugo", "hugo@example.org")
        page.screenshot(path=str(SHOTS / "intake-thanks-phone.png"), full_page=True)

        panel_login(page, base, "ines@riviere.example", PASSWORD)
        page.goto(f"{base}/panel/website/")
        page.get_by_role("link", name="Clean the river").first.click()
        page.get_by_role("link", name=re.compile(r"^\d+ responses?$")).click()
        assert (
            page.get_by_role("status")
            .filter(has_text="2 responses just received are being recorded")
            .is_visible()
        )

        committed(_break_first_waiting)
        committed(_work)
        page.reload()
        failed = page.get_by_role("region", name="Responses that could not be recorded")
        assert failed.get_by_text("broken address").is_visible()
        assert page.get_by_role("link", name="Hugo Martin").is_visible()  # the other one is in
        page.screenshot(path=str(SHOTS / "intake-responses-phone.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the responses page is {width}px wide on a phone"

        committed(_repair)
        failed.get_by_role("button", name="Record them again").click()
        assert page.get_by_text("1 response(s) will be recorded again in a moment.").is_visible()
        committed(_work)
        page.reload()
        assert page.get_by_role("link", name="Léa Martin").is_visible()
        assert not page.get_by_text("could not be recorded").is_visible()
    finally:
        committed(drop_nation, SLUG)
