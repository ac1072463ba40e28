"""The SMS screens of the panel: settings (own Twilio account checked against the local
server), the composer's live counts, sending a blast and its report, the inbox."""

from __future__ import annotations

from nations.comms import pipeline
from nations.comms.models import Blast, Delivery, TwilioAccount
from nations.people.models import Segment

from .conftest import NationClient, make_phone_people


def test_connecting_an_own_twilio_account_checks_and_encrypts_the_token(in_alpha, twilio):
    client = NationClient(in_alpha, in_alpha.owner)
    twilio.add_number("AC" + "2" * 32, "+33756000099")
    form = {
        "mode": "own",
        "account_sid": "AC" + "2" * 32,
        "auth_token": "nation-secret-token",
        "senders": "+33 7 56 00 00 99\nMaCampagne",
        "quiet_start": "21:00",
        "quiet_end": "08:00",
        "forward_to": "06 12 34 56 78",
    }
    twilio.store.open = False  # an unknown account: Twilio answers 401
    try:
        response = client.post("/panel/communication/sms-settings/", form)
        import re

        errors = re.findall(
            r"(?:errorlist|form-errors)[^>]*>(.*?)</", response.content.decode(), re.S
        )
        assert "Twilio refused these credentials" in response.content.decode(), errors
    finally:
        twilio.store.open = True
    response = client.post("/panel/communication/sms-settings/", form)
    assert response.status_code == 302
    account = TwilioAccount.objects.get()
    assert (
        account.senders == ["+33756000099", "MaCampagne"] and account.forward_to == "+33612345678"
    )
    assert account.auth_token == "nation-secret-token" and account.checked_at
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT auth_token FROM comms_twilioaccount")
        assert "nation-secret-token" not in cursor.fetchone()[0]
    page = client.get("/panel/communication/sms-settings/").content.decode()
    assert "+33756000099" in page and "nation-secret-token" not in page
    bad = client.post("/panel/communication/sms-settings/", {**form, "senders": "not a sender!!"})
    assert "neither a phone number nor an alphanumeric sender id" in bad.content.decode()


def test_compose_count_send_and_report_an_sms_blast_from_the_panel(in_alpha, twilio):
    client = NationClient(in_alpha, in_alpha.owner)
    people = make_phone_people(3)
    segment = Segment.objects.create(
        name="Lyon", definition={"conditions": [{"field": "city", "op": "eq", "value": "Lyon"}]}
    )
    measure = client.get(
        "/panel/communication/texts/measure/",
        {
            "channel": "sms",
            "text": "Salut {{ person.first_name }} 👋",
            "audience": "segment",
            "segment": segment.pk,
        },
    ).content.decode()
    assert (
        'data-testid="sms-encoding">UCS-2' in measure and 'data-testid="sms-segments">1' in measure
    )
    assert '<strong class="big">3</strong>' in measure
    long = client.get(
        "/panel/communication/texts/measure/",
        {"channel": "sms", "text": "🙂" * 400, "audience": "segment", "segment": segment.pk},
    ).content.decode()
    assert "12 parts" in long
    response = client.post(
        "/panel/communication/texts/sms/new/",
        {
            "name": "Rappel",
            "sender": "+33756000001",
            "text": "Salut {{ person.first_name }}, votez dimanche !",
            "audience": "segment",
            "segment": segment.pk,
        },
    )
    assert response.status_code == 302
    blast = Blast.objects.get(channel="sms")
    edit = client.get(f"/panel/communication/texts/blast/{blast.pk}/").content.decode()
    assert "Send now to 3" in edit and 'data-testid="sms-encoding">GSM-7' in edit
    assert client.post(f"/panel/communication/{blast.pk}/send/").status_code == 302
    pipeline.snapshot(blast.pk)
    assert pipeline.pump("sms")["sent"] == 3
    for delivery in Delivery.objects.filter(blast=blast):
        twilio.message_status(delivery.provider_id, "delivered")
    report = client.get(f"/panel/communication/texts/blast/{blast.pk}/report/").content.decode()
    assert "Delivered" in report and people[0].phone in report
    listing = client.get("/panel/communication/texts/sms/").content.decode()
    assert "Rappel" in listing
    emails = client.get("/panel/communication/").content.decode()
    assert "Rappel" not in emails  # the email list shows emails only
