"""SMS over the delivery pipeline: the official twilio SDK over HTTP to the local Twilio server,
status callbacks and inbound texts posted back signed with RequestValidator."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from nations.comms import actions, phone, pipeline, telephony
from nations.comms.models import Blast, Delivery, DeliveryEvent, InboundMessage, TwilioAccount
from nations.people.models import Activity, ConsentChange, Person, PersonPhone

from .conftest import NationClient, make_phone_blast, make_phone_people


def start(blast, nation) -> Blast:
    actions.blast_send(blast=blast, nation=nation)
    pipeline.snapshot(blast.pk)
    blast.refresh_from_db()
    return blast


def creates_per_recipient(server) -> Counter:
    return Counter(r.params["To"] for r in server.store.creates("Messages"))


def test_sms_size_counts_gsm7_and_ucs2_segments():
    assert telephony.sms_size("a" * 160) == telephony.SmsSize(160, "GSM-7", 160, 1, 160)
    assert telephony.sms_size("a" * 161).segments == 2
    assert telephony.sms_size("{" * 80).units == 160  # extension characters count twice
    emoji = telephony.sms_size("Merci 👋")
    assert (emoji.encoding, emoji.units, emoji.segments) == ("UCS-2", 8, 1)
    assert telephony.sms_size("a" * 69 + "👋").segments == 2  # 71 units
    assert telephony.sms_size("é" * 160).encoding == "GSM-7"  # é is in GSM-7
    assert telephony.sms_size("ê" * 10).encoding == "UCS-2"  # ê is not


def test_sms_blast_reaches_consenting_mobiles_once_and_skips_bad_numbers(in_alpha, twilio):
    people = make_phone_people(4)
    make_phone_people(2, prefix="nope", consent="withdrawn", start=50)
    landline = Person.objects.create(
        first_name="Fixe", phone="+33142000000", sms_consent="granted", city="Lyon"
    )
    PersonPhone.objects.create(person=landline, number="+33142000000", kind="landline")
    invalid = Person.objects.create(
        first_name="Bad", phone="+3312", sms_consent="granted", city="Lyon"
    )
    blast = start(make_phone_blast(), in_alpha.nation)
    assert blast.status == Blast.Status.SENDING and blast.total == 6

    totals = pipeline.pump("sms")
    assert (totals["sent"], totals["skipped"]) == (4, 2), totals
    blast.refresh_from_db()
    assert (blast.status, blast.sent_count, blast.skipped_count) == (Blast.Status.SENT, 4, 2)
    assert creates_per_recipient(twilio) == Counter({p.phone: 1 for p in people})
    first = next(r for r in twilio.store.creates() if r.params["To"] == people[0].phone)
    assert first.params["Body"] == "Bonjour M0 !"
    assert first.params["From"] == "+33756000001"
    assert first.params["StatusCallback"] == "http://alpha.localhost:8000/e/twilio/sms/status/"
    reasons = dict(
        Delivery.objects.filter(blast=blast, status="skipped").values_list("person_id", "error")
    )
    assert "landline" in reasons[landline.pk]
    assert "valid" in reasons[invalid.pk]
    sent = Delivery.objects.get(blast=blast, person_id=people[0].pk)
    assert sent.provider_id.startswith("SM") and sent.status == "sent"
    assert Activity.objects.filter(person_id=people[0].pk, kind=Activity.Kind.SMS_SENT).count() == 1

    # Twilio reports delivery through a signed status callback; a replay changes nothing.
    assert twilio.message_status(sent.provider_id, "delivered") == 204
    assert twilio.message_status(sent.provider_id, "delivered") == 204
    sent.refresh_from_db()
    assert sent.outcome == "delivered"
    assert DeliveryEvent.objects.filter(delivery=sent, kind="delivered").count() == 1
    other = Delivery.objects.get(blast=blast, person_id=people[1].pk)
    twilio.message_status(other.provider_id, "undelivered", error_code="30003")
    other.refresh_from_db()
    assert other.outcome == "undelivered"


def test_forged_signature_is_refused_and_unknown_sid_is_a_noop(in_alpha, twilio):
    client = NationClient(in_alpha)
    url = "http://alpha.localhost:8000/e/twilio/sms/status/"
    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    forged = telephony.RequestValidator("not-the-token").compute_signature(url, params)
    response = client.post(
        "/e/twilio/sms/status/",
        params,
        HTTP_HOST="alpha.localhost:8000",
        HTTP_X_TWILIO_SIGNATURE=forged,
    )
    assert response.status_code == 403
    assert (
        client.post("/e/twilio/sms/status/", params, HTTP_HOST="alpha.localhost:8000").status_code
        == 403
    )
    inbound = {
        "MessageSid": "SM" + "1" * 32,
        "From": "+33612000001",
        "To": "+33756000001",
        "Body": "STOP",
    }
    forged = telephony.RequestValidator("nope").compute_signature(
        "http://alpha.localhost:8000/e/twilio/sms/", inbound
    )
    response = client.post(
        "/e/twilio/sms/", inbound, HTTP_HOST="alpha.localhost:8000", HTTP_X_TWILIO_SIGNATURE=forged
    )
    assert response.status_code == 403 and not InboundMessage.objects.exists()
    # Correctly signed, but about a message we never sent: accepted, nothing changes.
    status, _body = twilio.post(
        url, params, twilio.store.accounts[next(iter(twilio.store.accounts))]
    )
    assert status == 204 and not DeliveryEvent.objects.exists()


def test_twilio_429_and_5xx_are_retried_without_a_double_send(in_alpha, twilio):
    people = make_phone_people(5)
    blast = start(make_phone_blast(), in_alpha.nation)
    twilio.fail_next(429)
    twilio.fail_next(503)
    twilio.fail_next(500)
    totals = pipeline.pump("sms")
    assert (totals["sent"], totals["retry"]) == (2, 3), totals
    waiting = Delivery.objects.filter(blast=blast, status="queued")
    assert waiting.count() == 3 and all("Twilio" in d.error for d in waiting)
    # The backoff: not before 30 s. Time advanced past it (no sleep):
    assert pipeline.pump("sms")["sent"] == 0
    waiting.update(claimed_at=datetime(2020, 1, 1, tzinfo=ZoneInfo("UTC")))
    assert pipeline.pump("sms")["sent"] == 3
    blast.refresh_from_db()
    assert (blast.status, blast.sent_count) == (Blast.Status.SENT, 5)
    assert creates_per_recipient(twilio) == Counter({p.phone: 1 for p in people})
    assert len([r for r in twilio.store.requests if r.status in (429, 500, 503)]) == 3


def test_quiet_hours_defer_rows_to_the_morning_in_the_recipients_zone(
    in_alpha, twilio, monkeypatch
):
    TwilioAccount.objects.update(quiet_start=time(21, 0), quiet_end=time(8, 0))
    people = make_phone_people(3)
    paris = ZoneInfo("Europe/Paris")
    clock = {"now": datetime(2026, 3, 2, 23, 30, tzinfo=paris)}
    monkeypatch.setattr(telephony, "now", lambda: clock["now"])
    blast = start(make_phone_blast(), in_alpha.nation)
    totals = pipeline.pump("sms")
    assert totals["sent"] == 0 and not twilio.store.creates()
    rows = Delivery.objects.filter(blast=blast)
    morning = datetime(2026, 3, 3, 8, 0, tzinfo=paris)
    assert {r.status for r in rows} == {"queued"} and {r.claimed_at for r in rows} == {morning}
    assert all("quiet hours" in r.error for r in rows) and {r.attempts for r in rows} == {0}
    blast.refresh_from_db()
    assert blast.status == Blast.Status.SENDING  # deferred, not dropped
    # Still night at 07:59 (the rows are claimable: deferred again, never sent).
    clock["now"] = datetime(2026, 3, 3, 7, 59, tzinfo=paris)
    assert pipeline.pump("sms")["sent"] == 0
    clock["now"] = datetime(2026, 3, 3, 8, 1, tzinfo=paris)
    assert pipeline.pump("sms")["sent"] == 3
    assert creates_per_recipient(twilio) == Counter({p.phone: 1 for p in people})
    # A New York number sleeps on New York time: 08:01 in Paris is 02:01 there.
    assert telephony.quiet_until("+12125550123", now=clock["now"], start=time(21), end=time(8))
    assert (
        telephony.quiet_until("+33612000000", now=clock["now"], start=time(21), end=time(8)) is None
    )


def test_over_ten_segments_is_refused_with_a_clear_error(in_alpha, twilio):
    make_phone_people(1)
    blast = make_phone_blast(text="😀" * 700)  # 1400 UCS-2 units: 21 segments
    with pytest.raises(actions.BlastError, match="21 parts"):
        actions.blast_send(blast=blast, nation=in_alpha.nation)
    blast.refresh_from_db()
    assert blast.status == Blast.Status.DRAFT
    with pytest.raises(telephony.TelephonyError):
        actions.transactional_sms(to="+33612000000", body="x" * 1600, person_id=None)


def test_inbound_stop_and_start_change_consent_and_land_in_the_inbox(in_alpha, twilio):
    person = make_phone_people(1)[0]
    status, _ = twilio.inbound_sms(
        to=twilio_number(), from_=person.phone, body="Arrêt", url=inbound_url()
    )
    assert status == 200
    person.refresh_from_db()
    assert person.sms_consent == "withdrawn"
    change = ConsentChange.objects.get(person=person, channel="sms")
    assert (change.status, change.source) == ("withdrawn", "sms:ARRÊT")
    assert Activity.objects.filter(person=person, kind=Activity.Kind.SMS_RECEIVED).exists()
    # Nothing goes to them any more...
    blast = start(make_phone_blast(), in_alpha.nation)
    assert blast.total == 0
    assert actions.transactional_sms(to=person.phone, body="hi", person_id=person.pk) is None
    # ...until they text START themselves.
    twilio.inbound_sms(to=twilio_number(), from_=person.phone, body="start", url=inbound_url())
    person.refresh_from_db()
    assert person.sms_consent == "granted"
    for word in ("STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT", "stop."):
        assert phone.keyword_of(word) == "stop", word
    assert phone.keyword_of("please stop texting") == ""
    # An unknown number is still in the inbox.
    twilio.inbound_sms(
        to=twilio_number(), from_="+33698765432", body="Qui êtes-vous ?", url=inbound_url()
    )
    assert InboundMessage.objects.filter(from_number="+33698765432", person_id=None).exists()
    page = NationClient(in_alpha, in_alpha.owner).get("/panel/communication/inbox/")
    text = page.content.decode()
    assert page.status_code == 200 and "Qui êtes-vous ?" in text and "Arrêt" in text


def test_transactional_sms_is_sent_by_the_sms_handler(in_alpha, twilio):
    person = make_phone_people(1)[0]
    nobody = make_phone_people(1, prefix="n", consent="unknown", start=9)[0]
    assert actions.transactional_sms(to=nobody.phone, body="x", person_id=nobody.pk) is None
    assert (
        actions.transactional_sms(to="+33142000000", body="x", person_id=None) is None
    )  # landline
    delivery = actions.transactional_sms(
        to=person.phone, body="Votre code : 1234", person_id=person.pk
    )
    assert delivery.priority == Delivery.PRIORITY_TRANSACTIONAL and delivery.channel == "sms"
    assert pipeline.pump("sms")["sent"] == 1
    [create] = twilio.store.creates()
    assert create.params["Body"] == "Votre code : 1234" and create.params["To"] == person.phone


def test_a_nation_on_a_plan_without_sms_cannot_send(in_alpha, twilio):
    from billing.limits import _PLAN_CACHE
    from billing.models import Plan, Subscription

    Subscription.objects.filter(nation=in_alpha.nation).update(
        plan=Plan.objects.get(code="starter")
    )
    _PLAN_CACHE.clear()
    make_phone_people(1)
    with pytest.raises(actions.BlastError):
        actions.blast_send(blast=make_phone_blast(), nation=in_alpha.nation)


def test_callbacks_cannot_reach_another_nation(in_alpha, bravo, twilio):
    from django_tenants.utils import schema_context

    person = make_phone_people(1)[0]
    start(make_phone_blast(), in_alpha.nation)
    pipeline.pump("sms")
    sid = Delivery.objects.get(person_id=person.pk).provider_id
    # Bravo's host is told about alpha's message (signed with the platform's token): no-op.
    status, _ = twilio.post(
        "http://bravo.localhost:8000/e/twilio/sms/status/",
        {"MessageSid": sid, "MessageStatus": "undelivered"},
        twilio.store.accounts[next(iter(twilio.store.accounts))],
    )
    assert status == 204
    connection.set_tenant(in_alpha.nation)
    assert Delivery.objects.get(person_id=person.pk).outcome == ""
    # An inbound STOP sent to bravo's URL does not unsubscribe alpha's person.
    twilio.inbound_sms(
        to=twilio_number(),
        from_=person.phone,
        body="STOP",
        url="http://bravo.localhost:8000/e/twilio/sms/",
    )
    connection.set_tenant(in_alpha.nation)
    person.refresh_from_db()
    assert person.sms_consent == "granted" and not InboundMessage.objects.exists()
    with schema_context(bravo.nation.schema_name):
        assert InboundMessage.objects.count() == 1
    connection.set_tenant(in_alpha.nation)


def twilio_number() -> str:
    return "+33756000001"


def inbound_url() -> str:
    return "http://alpha.localhost:8000/e/twilio/sms/"


def test_a_nation_sees_only_its_own_inbox_and_texts(in_alpha, bravo, twilio):
    person = make_phone_people(1)[0]
    twilio.inbound_sms(
        to=twilio_number(), from_=person.phone, body="Alpha secret reply", url=inbound_url()
    )
    blast = start(make_phone_blast(name="Alpha secret text"), in_alpha.nation)
    bravo_owner = NationClient(bravo, bravo.owner)
    inbox = bravo_owner.get("/panel/communication/inbox/").content.decode()
    assert "Alpha secret reply" not in inbox and "No replies yet" in inbox
    listing = bravo_owner.get("/panel/communication/texts/sms/").content.decode()
    assert "Alpha secret text" not in listing
    assert (
        bravo_owner.get(f"/panel/communication/texts/blast/{blast.pk}/report/").status_code == 404
    )
    connection.set_tenant(in_alpha.nation)
    mine = (
        NationClient(in_alpha, in_alpha.owner).get("/panel/communication/inbox/").content.decode()
    )
    assert "Alpha secret reply" in mine
