"""No double gifts, no gift paid that was not: double clicks, back + resubmit, ten concurrent
deliveries of one webhook, a webhook before the return, forged and stale signatures, replays,
events for accounts that are not ours."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from config.stripe_server import sign
from nations.donations.connect.models import ConnectEvent
from nations.donations.models import Donation
from nations.people.models import Person

from .conftest import CONNECT_SECRET, in_schema, post_event
from .helpers import connect_nation, donation_page, gift_data, give, local_path, pay

pytestmark = pytest.mark.django_db


def test_double_click_is_one_gift_and_one_checkout(alpha, connect):
    connect_nation(connect, alpha.nation)
    donation_page(alpha.nation)
    donor = Client(HTTP_HOST=alpha.host)
    first = give(donor, "give", gift_data())
    second = give(donor, "give", gift_data())
    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    with in_schema(alpha.nation):
        assert Donation.objects.count() == 1


def test_back_and_resubmit_after_paying_shows_the_paid_gift(alpha, connect, committed):
    connect_nation(connect, alpha.nation)
    donation_page(alpha.nation)
    donor = Client(HTTP_HOST=alpha.host)
    response = give(donor, "give", gift_data())
    pay(connect, response["Location"])
    committed(connect.deliver)
    again = give(donor, "give", gift_data())  # the browser's back button, then "Give" again
    assert again.status_code == 303 and "/give/donate/thanks/" in again["Location"]
    with in_schema(alpha.nation):
        assert Donation.objects.count() == 1
        assert Donation.objects.get().status == "paid"


def test_webhook_before_the_return_then_the_return(alpha, connect, committed):
    connect_nation(connect, alpha.nation)
    donation_page(alpha.nation)
    donor = Client(HTTP_HOST=alpha.host)
    response = give(donor, "give", gift_data())
    _status, location = pay(connect, response["Location"])
    committed(connect.deliver)
    back = committed(donor.get, local_path(location))
    assert back.status_code == 200
    with in_schema(alpha.nation):
        assert Donation.objects.filter(status="paid").count() == 1
        person = Person.objects.get(email="zoe@example.org")
        assert (person.donations_count, person.donations_total) == (1, 2500)


def test_replays_return_2xx_and_change_nothing(alpha, connect, committed):
    connect_nation(connect, alpha.nation)
    donation_page(alpha.nation)
    donor = Client(HTTP_HOST=alpha.host)
    pay(connect, give(donor, "give", gift_data())["Location"])
    deliveries = connect.connect_deliveries()
    for d in deliveries:
        committed(post_event, d["payload"], d["signature"])
    with in_schema(alpha.nation):
        before = list(Donation.objects.values())
        person = (
            Person.objects.filter(email="zoe@example.org")
            .values("donations_count", "donations_total")
            .get()
        )
    for d in deliveries * 3:
        response = post_event(d["payload"], d["signature"])
        assert response.status_code == 200 and response.json()["outcome"] == "duplicate"
    with in_schema(alpha.nation):
        assert list(Donation.objects.values()) == before
        assert (
            Person.objects.filter(email="zoe@example.org")
            .values("donations_count", "donations_total")
            .get()
            == person
        )
    assert ConnectEvent.objects.exclude(type="account.updated").count() == len(deliveries)


def test_forged_stale_or_missing_signatures_are_refused(alpha, connect):
    connect_nation(connect, alpha.nation)
    donation_page(alpha.nation)
    donor = Client(HTTP_HOST=alpha.host)
    pay(connect, give(donor, "give", gift_data())["Location"])
    [completed] = [
        d for d in connect.connect_deliveries() if d["type"] == "checkout.session.completed"
    ]
    payload = completed["payload"]
    for body, signature in (
        (payload, sign(payload, "whsec_not_ours")),
        (payload, sign(payload, CONNECT_SECRET, timestamp=int(time.time()) - 3600)),
        (payload, ""),
        (payload.replace('"paid"', '"unpaid"'), completed["signature"]),
        ("not json", sign("not json", CONNECT_SECRET)),
    ):
        assert post_event(body, signature).status_code == 400
    assert not ConnectEvent.objects.exclude(type="account.updated").exists()
    with in_schema(alpha.nation):
        assert Donation.objects.get().status == "pending"


def test_an_event_for_an_unknown_account_changes_nothing(alpha, connect):
    event = {
        "id": "evt_stranger_1",
        "object": "event",
        "type": "checkout.session.completed",
        "account": "acct_not_ours",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": "cs_test_x",
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": "paid",
                "metadata": {},
            }
        },
    }
    payload = json.dumps(event)
    response = post_event(payload, sign(payload, CONNECT_SECRET))
    assert response.status_code == 200 and response.json()["outcome"] == "unknown_account"
    with in_schema(alpha.nation):
        assert not Donation.objects.exists()
