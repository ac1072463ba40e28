"""Bounces and complaints: through anymail's tracking webhook (its auth checked) and the inbound
bounce mailbox (DSN / ARF). Hard bounces and complaints stop future sends; soft ones do not."""

from __future__ import annotations

import json
from base64 import b64encode

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from nations.comms import pipeline
from nations.comms.dsn import bounce_process
from nations.comms.models import Delivery, DeliveryEvent
from nations.people.models import PersonEmail

from .conftest import make_blast, make_people
from .test_pipeline import start


@pytest.fixture
def delivered(in_alpha, sink):
    people = make_people(3, prefix="bounce")
    start(make_blast(), in_alpha.nation)
    pipeline.pump("email")
    rows = {d.person_id: d for d in Delivery.objects.all()}
    return people, rows


def dsn(message_id: str, status: str = "5.1.1", action: str = "failed") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example\r\nTo: bounces@alpha.example\r\nSubject: Undelivered\r\n"
        "Message-ID: <dsn-1@mx.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        f"Final-Recipient: rfc822; someone@example.org\r\nAction: {action}\r\nStatus: {status}\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: team@alpha.example\r\nMessage-ID: {message_id}\r\nSubject: Hello\r\n--B--\r\n"
    ).encode()


def test_a_dsn_hard_bounce_stops_future_sends_and_a_soft_one_does_not(delivered, in_alpha, sink):
    people, rows = delivered
    hard, soft = rows[people[0].pk], rows[people[1].pk]
    connection.set_schema_to_public()  # the mailbox reader runs outside any nation
    assert bounce_process(dsn(hard.message_id)) == "bounce"
    assert bounce_process(dsn(soft.message_id, "4.2.2", "delayed")) == "soft"
    assert bounce_process(dsn("<1.n_alpha.forgedsig00@alpha.example>")) == "ignored"
    with schema_context(in_alpha.nation.schema_name):
        connection.set_tenant(in_alpha.nation)
        assert PersonEmail.objects.get(address=people[0].email).status == "bounced"
        assert not PersonEmail.objects.filter(address=people[1].email, status="bounced").exists()
        sink.clear()
        start(make_blast(), in_alpha.nation)
        pipeline.pump("email")
        assert sink.to(people[0].email) == [] and len(sink.to(people[1].email)) == 1


def test_an_abuse_report_is_a_complaint(delivered, in_alpha):
    people, rows = delivered
    report = (
        "From: abuse@isp.example\r\nTo: bounces@alpha.example\r\nSubject: Abuse\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\r\n\r\n'
        "--F\r\nContent-Type: text/plain\r\n\r\nSpam report\r\n"
        "--F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
        "--F\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {rows[people[2].pk].message_id}\r\n--F--\r\n"
    ).encode()
    connection.set_schema_to_public()
    assert bounce_process(report) == "complaint"
    with schema_context(in_alpha.nation.schema_name):
        people[2].refresh_from_db()
        assert people[2].email_consent == "withdrawn"
        assert PersonEmail.objects.get(address=people[2].email).status == "complained"


def postmark(payload: dict, auth: str | None):
    client = Client(HTTP_HOST="localhost")
    headers = {"HTTP_AUTHORIZATION": "Basic " + b64encode(auth.encode()).decode()} if auth else {}
    return client.post(
        "/email/anymail/postmark/tracking/",
        json.dumps(payload),
        content_type="application/json",
        **headers,
    )


def test_anymail_webhook_checks_its_auth_and_replays_are_noops(delivered, in_alpha, settings):
    people, rows = delivered
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    target = rows[people[0].pk]
    event = {
        "RecordType": "Bounce", "ID": 4242, "Type": "HardBounce", "TypeCode": 1,
        "MessageID": "pm-1", "Email": people[0].email, "BouncedAt": "2026-01-01T10:00:00Z",
        "Description": "The server was unable to deliver", "Details": "550 no such user",
        "Metadata": {"nation": in_alpha.nation.schema_name, "delivery": str(target.pk)},
    }  # fmt: skip
    connection.set_schema_to_public()
    assert postmark(event, None).status_code in (400, 403)
    assert postmark(event, "hook:wrong").status_code in (400, 403)
    assert postmark(event, "hook:s3cret").status_code == 200
    assert postmark(event, "hook:s3cret").status_code == 200  # replay
    with schema_context(in_alpha.nation.schema_name):
        assert DeliveryEvent.objects.filter(kind="bounced").count() == 1
        assert PersonEmail.objects.get(address=people[0].email).status == "bounced"
    complaint = {
        "RecordType": "SpamComplaint", "ID": 4243, "MessageID": "pm-2", "Email": people[1].email,
        "BouncedAt": "2026-01-01T10:00:00Z", "Type": "SpamComplaint", "TypeCode": 512,
        "Metadata": {"nation": in_alpha.nation.schema_name, "delivery": str(rows[people[1].pk].pk)},
    }  # fmt: skip
    assert postmark(complaint, "hook:s3cret").status_code == 200
    with schema_context(in_alpha.nation.schema_name):
        people[1].refresh_from_db()
        assert people[1].email_consent == "withdrawn"
