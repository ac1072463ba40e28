"""The new Communication screens in Chromium: an A/B test's report (both subjects, the winner),
a sender's domain checked against a real DNS server (per-record status), and the sending
service form refusing a relay on a private address with a clear message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.actions import nation_create
from tests.browser.conftest import panel_login
from tests.comms.conftest import Sink, _dns_server, dns  # noqa: F401 - fixtures
from tests.conftest import PASSWORD, free_port, new_owner

from .test_signup_flow import SHOTS, committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SLUG = "comms-settings"


def _seed() -> None:
    from nations.comms import abtest, actions, pipeline
    from nations.comms.models import Blast, Delivery
    from nations.people.models import Person, Segment

    nation = nation_create(
        name="AB Nation", slug=SLUG, country="FR", language="en",
        owner=new_owner("ab.owner@example.org"),
    )  # fmt: skip
    with schema_context(nation.schema_name):
        connection.set_tenant(nation)
        Person.objects.bulk_create(
            Person(first_name=f"Ami{i}", email=f"ami{i}@ab.test", city="Lyon", email_consent="granted")
            for i in range(40)
        )  # fmt: skip
        segment = Segment.objects.create(
            name="Lyon", definition={"conditions": [{"field": "city", "op": "eq", "value": "Lyon"}]}
        )
        sender = actions.broadcaster_save(
            name="AB Team", from_email="team@ab.example", postal_address="1 rue X, Lyon"
        )
        blast = actions.blast_save(
            broadcaster=sender, subject="Join us Saturday", subject_b="{{ person.first_name }}, we need you",
            body_html="<p>Hello</p>", audience="segment", segment=segment, ab_percent=25, ab_wait_hours=2,
        )  # fmt: skip
        actions.blast_send(blast=blast, nation=nation)
        pipeline.snapshot(blast.pk)
        pipeline.pump("email")
        for delivery in Delivery.objects.filter(blast=blast, variant="b")[:4]:
            actions.delivery_opened(delivery=delivery)
        for delivery in Delivery.objects.filter(blast=blast, variant="a")[:1]:
            actions.delivery_opened(delivery=delivery)
        abtest.decide_due(now=timezone.now() + timedelta(hours=3))
        pipeline.pump("email")
        assert Blast.objects.get(pk=blast.pk).status == "sent"
    connection.set_schema_to_public()


def _drop() -> None:
    from tests.conftest import drop_nation

    drop_nation(SLUG)


@pytest.fixture
def sink(settings, tmp_path):
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.COMMS_EMAIL_BACKEND = "smtp"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.COMMS_SMTP_HOST, settings.COMMS_SMTP_PORT = "", 0
    settings.COMMS_JOURNAL_DIR = tmp_path / "journal"
    yield sink
    controller.stop()


def test_ab_report_domain_check_and_sending_service_screens(browser_page, sink, dns, settings):  # noqa: F811
    page, port = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    settings.COMMS_NATION_RELAY_ALLOW_PRIVATE = False
    committed(_seed)
    try:
        assert len(sink.messages) == 40
        base = f"http://{SLUG}.localhost:{port}"
        panel_login(page, base, "ab.owner@example.org", PASSWORD)

        page.goto(f"{base}/panel/communication/")
        page.get_by_role("link", name="Join us Saturday").click()
        report = page.locator(".ab-report")
        assert report.get_by_text("Subject B won").is_visible()
        assert (
            report.get_by_role("row")
            .filter(has_text="Winner")
            .get_by_text("4 · 40.0 %")
            .is_visible()
        )
        page.screenshot(path=str(SHOTS / "comms-ab-report.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "comms-ab-report-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        dns.txt["ab.example"] = [f"v=spf1 {settings.COMMS_SPF_INCLUDE} ~all"]
        page.goto(f"{base}/panel/communication/senders/")
        page.get_by_role("link", name="AB Team").click()
        page.get_by_role("button", name="Check the DNS records now").click()
        assert page.get_by_text("Not verified yet").is_visible()
        assert page.locator('[data-purpose="SPF"]').get_by_text("Found", exact=True).is_visible()
        assert page.locator('[data-purpose="DKIM"]').get_by_text("Not found").is_visible()
        page.screenshot(path=str(SHOTS / "comms-domain-check.png"), full_page=True)

        page.get_by_role("link", name="Sending service").click()
        page.get_by_label("Our own SMTP relay").check()
        page.get_by_label("SMTP host").fill("127.0.0.1")
        page.get_by_role("button", name="Save").click()
        assert page.get_by_role("alert").get_by_text("is a private address").is_visible()
        page.screenshot(path=str(SHOTS / "comms-sending-service.png"), full_page=True)
    finally:
        committed(_drop)
