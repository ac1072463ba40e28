"""A blast in Chromium: a staff member adds a sender, writes an email to a segment, sees the
recipient count, sends it, watches the progress bar fill (a real Celery worker, a real SMTP
sink) and reads the report."""

from __future__ import annotations

import re

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django_tenants.utils import schema_context

from config.celery import app
from tenants.actions import nation_create
from tests.browser.conftest import panel_login
from tests.comms.conftest import Sink
from tests.conftest import PASSWORD, free_port, new_owner

from .test_signup_flow import SHOTS, committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SLUG = "blast-flow"
CROWD = 120


def _seed() -> None:
    from nations.people.models import Person, Segment

    nation = nation_create(
        name="Blast Nation",
        slug=SLUG,
        country="FR",
        language="en",
        owner=new_owner("blast.owner@example.org"),
    )
    with schema_context(nation.schema_name):
        connection.set_tenant(nation)
        Person.objects.bulk_create(
            Person(first_name=f"Ami{i}", email=f"ami{i}@blast.test", city="Lyon" if i % 3 else "Paris",
                   email_consent="granted" if i % 10 else "withdrawn")
            for i in range(CROWD)
        )  # fmt: skip
        Segment.objects.create(
            name="Lyon supporters",
            definition={"conditions": [{"field": "city", "op": "eq", "value": "Lyon"}]},
        )
    connection.set_schema_to_public()


def _drop() -> None:
    from tests.conftest import drop_nation

    drop_nation(SLUG)


@pytest.fixture
def smtp_and_worker(django_db_blocker, settings, tmp_path):
    from aiosmtpd.controller import Controller

    sink = Sink()
    sink.keep = False
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.COMMS_SMTP_HOST, settings.COMMS_SMTP_PORT = "", 0
    settings.COMMS_JOURNAL_DIR = tmp_path / "journal"
    settings.COMMS_EMAIL_NATION_RATE = 40.0  # slow enough to watch the bar move
    settings.COMMS_RATES = {"email": {"global": 40.0, "nation": 40.0}}
    settings.COMMS_BATCH = 10
    try:
        with (
            django_db_blocker.unblock(),
            start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
        ):
            yield sink
    finally:
        controller.stop()


def test_a_staff_member_sends_a_blast_to_a_segment_and_reads_the_report(
    browser_page, smtp_and_worker
):
    page, port = browser_page
    sink = smtp_and_worker
    SHOTS.mkdir(parents=True, exist_ok=True)
    committed(_seed)
    try:
        base = f"http://{SLUG}.localhost:{port}"
        panel_login(page, base, "blast.owner@example.org", PASSWORD)

        page.get_by_role("link", name="Communication").click()
        assert page.get_by_role("heading", name="No emails yet").is_visible()
        page.locator(".empty").get_by_role("link", name="Add a sender").click()
        page.get_by_label("Sender name").fill("Blast Team")
        page.get_by_label("From address").fill("team@blast.example")
        page.get_by_label("Postal address").fill("12 rue des Lilas, 69001 Lyon")
        page.get_by_role("button", name="Add sender").click()
        assert page.get_by_text("_domainkey.blast.example").is_visible()
        page.screenshot(path=str(SHOTS / "comms-sender.png"), full_page=True)

        page.get_by_role("link", name="Emails").click()
        page.get_by_role("link", name="New email").first.click()
        page.get_by_label("Subject", exact=True).fill(
            "{{ person.first_name }}, join us on Saturday"
        )
        page.get_by_label("Preheader").fill("Market square, 10am")
        page.locator(".rte-box").click()
        page.keyboard.type("Hello friend, see you on Saturday!")
        page.get_by_label("Segment", exact=True).select_option(label="Lyon supporters")
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_url(re.compile(r".*/communication/\d+/edit/$"))

        lyon_with_consent = sum(1 for i in range(CROWD) if i % 3 and i % 10)
        send = page.get_by_role("button", name=f"Send now to {lyon_with_consent}")
        assert send.is_visible()
        assert page.locator("#audience-count").get_by_text(str(lyon_with_consent)).is_visible()
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / "comms-compose.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "comms-compose-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        page.once("dialog", lambda dialog: dialog.accept())
        send.click()
        page.wait_for_url(re.compile(r".*/communication/\d+/$"))
        assert page.get_by_role("progressbar").is_visible()
        page.screenshot(path=str(SHOTS / "comms-progress.png"), full_page=True)
        page.get_by_role("heading", name="Report").wait_for(timeout=60_000)
        assert page.get_by_text(f"{lyon_with_consent} of {lyon_with_consent} sent").is_visible()
        assert sum(sink.ids.values()) == lyon_with_consent and set(sink.ids.values()) == {1}
        page.screenshot(path=str(SHOTS / "comms-report.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "comms-report-phone.png"), full_page=True)
    finally:
        committed(_drop)
