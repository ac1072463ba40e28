"""Bad input and faults: header injection, broken Liquid, unknown merge fields, huge bodies,
invalid senders, empty audiences, a segment changing while sending, SMTP 4xx/5xx and dropped
connections, pause and cancel mid-send, autoresponses ahead of blasts."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from nations.comms import actions, pipeline
from nations.comms.models import Blast, Delivery
from nations.people.models import Person, Segment

from .conftest import make_blast, make_people
from .test_pipeline import start


def test_a_subject_with_newlines_cannot_inject_headers(in_alpha, sink):
    person = make_people(1)[0]
    blast = make_blast(subject="Hi\r\nBcc: victim@evil.example\r\nX-Evil: 1")
    assert "\n" not in blast.subject
    start(blast, in_alpha.nation)
    pipeline.pump("email")
    message = sink.to(person.email)[0]
    assert message["Bcc"] is None and message["X-Evil"] is None
    # a merge field that brings a newline is flattened too
    Person.objects.filter(pk=person.pk).update(first_name="Eve\r\nBcc: x@evil.example")
    sink.clear()
    start(make_blast(subject="Hi {{ person.first_name }}"), in_alpha.nation)
    pipeline.pump("email")
    assert sink.to(person.email)[0]["Bcc"] is None


def test_broken_liquid_is_refused_before_sending_with_a_clear_message(in_alpha):
    make_people(2)
    for body in (
        "<p>{% if person.first_name %}unclosed</p>",
        "<p>{{ person.first_name | nosuchfilter }}</p>",
    ):
        blast = make_blast(body=body)
        with pytest.raises(actions.BlastError) as error:
            actions.blast_send(blast=blast, nation=in_alpha.nation)
        assert "Message" in str(error.value)
        blast.refresh_from_db()
        assert blast.status == "draft"


def test_unknown_merge_fields_render_empty_and_defaults_apply(in_alpha, sink):
    person = make_people(1)[0]
    Person.objects.filter(pk=person.pk).update(first_name="")
    start(
        make_blast(
            body='<p>Bonjour {{ person.first_name | default: "ami" }}{{ person.nope.deeper }}!</p>'
        ),
        in_alpha.nation,
    )
    pipeline.pump("email")
    assert "Bonjour ami!" in sink.to(person.email)[0].get_body(("plain",)).get_content()


def test_a_huge_body_is_refused(in_alpha):
    make_people(1)
    blast = make_blast(body="<p>" + "x" * 10_000_000 + "</p>")
    with pytest.raises(actions.BlastError):
        actions.blast_send(blast=blast, nation=in_alpha.nation)


def test_an_invalid_from_address_is_refused():
    with pytest.raises(ValidationError):
        actions.broadcaster_save(name="Bad", from_email="not an address\r\nBcc: x@y")


def test_an_empty_audience_finishes_at_once(in_alpha, sink):
    nobody = Segment.objects.create(
        name="Nobody",
        definition={"conditions": [{"field": "city", "op": "eq", "value": "Atlantis"}]},
    )
    blast = start(make_blast(segment=nobody), in_alpha.nation)
    assert (blast.status, blast.total) == ("sent", 0)
    assert sink.messages == []


def test_the_snapshot_wins_when_the_segment_changes_while_sending(in_alpha, sink):
    people = make_people(6)
    blast = start(make_blast(), in_alpha.nation)
    newcomer = make_people(1, prefix="late")[0]  # joins the segment after the start
    Person.objects.filter(pk=people[0].pk).update(city="Paris")  # leaves it
    pipeline.pump("email")
    assert sink.to(newcomer.email) == []
    assert len(sink.to(people[0].email)) == 1
    blast.refresh_from_db()
    assert blast.sent_count == 6


def test_smtp_5xx_fails_the_row_and_4xx_retries_it(in_alpha, sink):
    people = make_people(3)
    sink.reject[people[0].email] = "550 5.1.1 No such user"
    sink.reject[people[1].email] = "451 4.3.0 Try later"
    blast = start(make_blast(), in_alpha.nation)
    pipeline.pump("email", seconds=1)
    rows = {d.person_id: d for d in Delivery.objects.filter(blast=blast)}
    assert rows[people[0].pk].status == "failed" and "550" in rows[people[0].pk].error
    assert rows[people[2].pk].status == "sent"
    assert "451" in rows[people[1].pk].error
    sink.reject.clear()
    assert rows[people[1].pk].status == "queued"  # backing off, not hammering the server
    Delivery.objects.filter(pk=rows[people[1].pk].pk).update(claimed_at=None)  # time passes
    pipeline.pump("email")
    assert len(sink.to(people[1].email)) == 1
    blast.refresh_from_db()
    assert (blast.sent_count, blast.failed_count, blast.status) == (2, 1, "sent")


def test_a_dropped_connection_after_data_is_not_sent_twice(in_alpha, sink):
    make_people(8)
    sink.drop_after = 3  # the server takes message 3, then hangs up before answering
    blast = start(make_blast(), in_alpha.nation)
    pipeline.pump("email")
    blast.refresh_from_db()
    assert blast.sent_count == 8 and blast.status == "sent"
    assert len(sink.ids) == 8 and set(sink.ids.values()) == {1}


def test_a_server_that_refuses_data_keeps_rows_for_later(in_alpha, sink):
    make_people(3)
    sink.fail_data = "421 4.7.0 Too busy"
    blast = start(make_blast(), in_alpha.nation)
    pipeline.pump("email", seconds=0.5)
    assert not Delivery.objects.filter(blast=blast, status="sent").exists()
    sink.fail_data = None
    Delivery.objects.filter(blast=blast).update(claimed_at=None)  # the back-off has passed
    pipeline.pump("email")
    blast.refresh_from_db()
    assert blast.sent_count == 3


def test_pause_and_cancel_mid_send(in_alpha, sink, settings):
    settings.COMMS_BATCH = 5
    make_people(20)
    blast = start(make_blast(), in_alpha.nation)
    actions.blast_pause(blast=blast)
    pipeline.pump("email")
    assert sink.messages == []
    Blast.objects.filter(pk=blast.pk).update(status="sending")
    rows = pipeline.claim(
        channel="email", limit=5, blasts={blast.pk: "x"}, worker="w:1", domain="x"
    )
    assert len(rows) == 5
    assert actions.blast_cancel(blast=blast) == 15
    pipeline.pump("email")
    assert sink.messages == []
    blast.refresh_from_db()
    assert blast.status == "cancelled"


def test_transactional_messages_go_before_queued_blast_messages(in_alpha, sink, settings):
    settings.COMMS_BATCH = 5
    make_people(12)
    blast = start(make_blast(), in_alpha.nation)
    actions.transactional_send(
        to="visitor@example.org",
        subject="Thanks",
        text="Thank you",
        from_email="Team <team@alpha.example>",
        kind="autoresponse",
    )
    pipeline.pump("email")
    order = [str(m["To"]) for m in sink.messages]
    assert order[0] == "visitor@example.org"
    assert len(order) == 13
    blast.refresh_from_db()
    assert blast.sent_count == 12


def test_dkim_signature_with_the_nations_key_verifies(in_alpha, sink, settings):
    import base64

    from nations.comms.models import Broadcaster

    dkim = pytest.importorskip("dkim")  # dkimpy==1.1.8, not yet in requirements.lock

    settings.COMMS_DKIM_SIGN = True
    person = make_people(1)[0]
    blast = make_blast()
    start(blast, in_alpha.nation)
    pipeline.pump("email")
    sender = Broadcaster.objects.get()
    raw = sink.to(person.email)[0].as_bytes()
    assert b"DKIM-Signature:" in raw and b"d=alpha.example" in raw

    def dns(name, timeout=5):
        assert name == b"nations._domainkey.alpha.example."
        return f"v=DKIM1; k=rsa; p={sender.dkim_public_key}".encode()

    assert base64.b64decode(sender.dkim_public_key)
    assert dkim.verify(raw, dnsfunc=dns)


def test_a_scheduled_blast_starts_when_its_time_comes(in_alpha):
    from datetime import timedelta

    from django.utils import timezone

    from nations.comms.tasks import tick_nation

    make_people(2)
    blast = make_blast()
    actions.blast_send(blast=blast, nation=in_alpha.nation, at=timezone.now() + timedelta(hours=2))
    blast.refresh_from_db()
    assert blast.status == "scheduled"
    assert tick_nation()["launched"] == 0
    Blast.objects.filter(pk=blast.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    assert tick_nation()["launched"] == 1
    blast.refresh_from_db()
    assert blast.status == "preparing"
    assert blast.links == ["https://example.org/act"]


def test_a_burst_of_autoresponses_queues_one_pump_that_sends_them_all(
    in_alpha, sink, django_capture_on_commit_callbacks
):
    """A petition shared widely: each signature's autoresponse does not need a Celery task of
    its own while one pump is queued and not yet started; that pump sends every one of them,
    and once it has started, the next autoresponse queues a new pump."""
    from celery.signals import before_task_publish

    from nations.comms.tasks import pump_deliveries

    published = []

    def count(sender=None, **kwargs):
        published.append(sender)

    before_task_publish.connect(count)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            for n in range(3):
                actions.transactional_send(
                    to=f"signer{n}@example.org",
                    subject="Thanks",
                    text="Thank you",
                    from_email="Team <team@alpha.example>",
                    kind="autoresponse",
                )
        assert published == ["comms.pump"]
        pump_deliveries("email")  # the queued pump, run here
        assert sorted(str(m["To"]) for m in sink.messages) == [
            "signer0@example.org",
            "signer1@example.org",
            "signer2@example.org",
        ]
        with django_capture_on_commit_callbacks(execute=True):
            actions.transactional_send(
                to="late@example.org",
                subject="Thanks",
                text="Thank you",
                from_email="Team <team@alpha.example>",
                kind="autoresponse",
            )
        assert published == ["comms.pump", "comms.pump"]
    finally:
        before_task_publish.disconnect(count)
        # Publishing resolved the app's result backend (none is configured here) and Celery
        # keeps it: forget it, so a later test that configures one (tests/config) gets it.
        from config.celery import app

        app._backend_cache = None
        app._local.__dict__.pop("backend", None)


def test_a_nation_whose_payments_stopped_sends_receipts_but_no_blasts(in_alpha, sink):
    from billing.models import Subscription
    from billing.state import can_send

    make_people(3, prefix="ro")
    blast = start(make_blast(), in_alpha.nation)
    actions.transactional_send(
        to="donor@example.org", subject="Reçu", text="Merci", from_email="team@alpha.example"
    )
    Subscription.objects.filter(nation_id=in_alpha.nation.pk).update(status="read_only")
    assert not can_send(in_alpha.nation)
    pipeline.pump("email")
    assert [str(m["To"]) for m in sink.messages] == ["donor@example.org"]
    blast.refresh_from_db()
    assert blast.sent_count == 0 and blast.queued_count == 3
