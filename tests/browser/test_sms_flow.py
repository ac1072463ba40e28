"""An SMS blast in Chromium: a staff member writes a text with an emoji, sees it counted as
UCS-2 before sending, sends it to a segment (a real Celery worker, the local Twilio server in a
thread reached through the official SDK), and reads the report as Twilio's signed delivery
callbacks come back over HTTP."""

from __future__ import annotations

import re

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django_tenants.utils import schema_context

from config.celery import app
from tenants.actions import nation_create
from tests.browser.conftest import panel_login
from tests.conftest import PASSWORD, new_owner

from .test_signup_flow import SHOTS, committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SLUG = "sms-flow"
CROWD = 30
ACCOUNT, TOKEN = "AC" + "5" * 32, "browser-token"


def _seed() -> None:
    from datetime import time

    from nations.comms.models import TwilioAccount
    from nations.people.models import Person, Segment

    nation = nation_create(
        name="SMS Nation", slug=SLUG, country="FR", language="en",
        owner=new_owner("sms.owner@example.org"), plan="campaign",
    )  # fmt: skip
    with schema_context(nation.schema_name):
        connection.set_tenant(nation)
        Person.objects.bulk_create(
            Person(first_name=f"Ami{i}", phone=f"+336130{i:05d}", city="Lyon",
                   sms_consent="granted" if i % 10 else "withdrawn")
            for i in range(CROWD)
        )  # fmt: skip
        Segment.objects.create(
            name="Lyon supporters",
            definition={"conditions": [{"field": "city", "op": "eq", "value": "Lyon"}]},
        )
        # Quiet hours off: the test may run at night in Paris.
        TwilioAccount.objects.create(quiet_start=time(0), quiet_end=time(0))
    connection.set_schema_to_public()


def _drop() -> None:
    from tests.conftest import drop_nation

    drop_nation(SLUG)


@pytest.fixture
def twilio_and_worker(django_db_blocker, settings, tmp_path):
    from config.twilio_server import LocalTwilio

    server = LocalTwilio(auto=True).start()  # delivers each text and calls us back, signed
    server.store.accounts[ACCOUNT] = TOKEN
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT, TOKEN
    settings.TWILIO_API_BASE, settings.TWILIO_FROM = server.url, "+33756000001"
    settings.COMMS_JOURNAL_DIR = tmp_path / "journal"
    settings.COMMS_RATES = {**settings.COMMS_RATES, "sms": {"global": 20.0, "nation": 20.0}}
    settings.COMMS_BATCH = 5
    try:
        with (
            django_db_blocker.unblock(),
            start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
        ):
            yield server
    finally:
        server.stop()


def test_a_staff_member_sends_an_sms_blast_and_reads_the_delivery_report(
    browser_page, twilio_and_worker
):
    page, port = browser_page
    server = twilio_and_worker
    SHOTS.mkdir(parents=True, exist_ok=True)
    committed(_seed)
    try:
        base = f"http://{SLUG}.localhost:{port}"
        panel_login(page, base, "sms.owner@example.org", PASSWORD)

        page.get_by_role("link", name="Communication").click()
        page.get_by_role("link", name="SMS", exact=True).click()
        assert page.get_by_role("heading", name="No text messages yet").is_visible()
        page.locator(".empty").get_by_role("link", name="New text message").click()
        # htmx is a deferred script: typing before it has run (a loaded machine) sends no
        # measure request for the encoding and segments below.
        page.wait_for_load_state()
        page.get_by_label("Internal name").fill("Saturday rally")
        page.get_by_label("Message").fill("Hi {{ person.first_name }}, rally on Saturday 10am 📣")
        page.get_by_label("Segment", exact=True).select_option(label="Lyon supporters")
        page.get_by_test_id("sms-encoding").get_by_text("UCS-2").wait_for()
        assert page.get_by_test_id("sms-segments").inner_text() == "1"
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_url(re.compile(r".*/texts/blast/\d+/$"))

        reachable = sum(1 for i in range(CROWD) if i % 10)
        send = page.get_by_role("button", name=f"Send now to {reachable}")
        assert send.is_visible()
        page.screenshot(path=str(SHOTS / "sms-compose.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "sms-compose-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        page.once("dialog", lambda dialog: dialog.accept())
        send.click()
        page.wait_for_url(re.compile(r".*/texts/blast/\d+/report/$"))
        page.get_by_text(f"{reachable} of {reachable} sent").wait_for(timeout=60_000)
        page.wait_for_timeout(2500)  # the local Twilio server reports deliveries (signed)
        page.reload()
        label = page.locator(".label", has_text=re.compile(r"^Delivered"))
        delivered = page.locator(".stat", has=label).locator(".value")
        assert delivered.inner_text() == str(reachable)
        assert len(server.store.creates()) == reachable
        page.screenshot(path=str(SHOTS / "sms-report.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "sms-report-phone.png"), full_page=True)
    finally:
        committed(_drop)
