"""Renewals against the contribution rules, and refunds of a renewal.

A recurring gift is checked when its renewal invoice is drafted (Stripe's invoice.created,
about an hour before the charge): past a cap, the draft is finalized without collection and
voided, and the gift paused until 1 January (yearly cap) or stopped (per-election cap). All of
it through the official SDK against the local Stripe server, with signed webhooks."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from billing.stripe_client import stripe_client
from nations.donations.actions import donation_settings, rules_apply_preset
from nations.donations.models import Donation, RecurringDonation
from nations.people.models import Person
from tests.conftest import client_for

from .conftest import in_schema
from .helpers import connect_nation, donation_page, gift_data, give, pay

pytestmark = pytest.mark.django_db

FR = {"natural_person": "on", "attestation": "on"}


@pytest.fixture
def ready(alpha, connect):
    connect_nation(connect, alpha.nation, currency="EUR")
    donation_page(alpha.nation)
    return Client(HTTP_HOST=alpha.host)


def _give(donor, connect, committed, **values):
    response = give(donor, "give", gift_data(**values))
    assert response.status_code == 303, response.content.decode()[-3000:]
    status, _body = pay(connect, response["Location"])
    assert status == 303
    committed(connect.deliver)


def _stripe(alpha):
    return stripe_client(), {"stripe_account": alpha.nation.stripe_account.account_id}


def _to_renewal_draft(alpha, connect, recurring) -> str:
    """Move Stripe's clock just past the period end: the renewal is drafted, not yet charged."""
    client, options = _stripe(alpha)
    sub = client.v1.subscriptions.retrieve(recurring.stripe_subscription_id, options=options)
    connect.post("/_local/clock/advance", {"to": sub["items"].data[0].current_period_end + 60})
    return client.v1.subscriptions.retrieve(
        recurring.stripe_subscription_id, options=options
    ).latest_invoice


def test_renewal_past_the_yearly_cap_is_never_charged(
    alpha, ready, connect, committed, eager_tasks, mailbox
):
    with in_schema(alpha.nation):
        rules_apply_preset(settings=donation_settings(), rules="fr_party")
    _give(ready, connect, committed, frequency="month", other_amount="600", nonce="m", **FR)
    # A one-time gift later the same year: 7,100 given, the next 600 would pass 7,500.
    _give(ready, connect, committed, other_amount="6500", nonce="o", **FR)
    with in_schema(alpha.nation):
        recurring = RecurringDonation.objects.get()
    mailbox.clear()
    draft = _to_renewal_draft(alpha, connect, recurring)
    client, options = _stripe(alpha)
    assert client.v1.invoices.retrieve(draft, options=options).status == "draft"
    results = committed(connect.deliver)
    assert ("invoice.created", 200, {"received": True, "outcome": "processed"}) in results
    # Stripe's side: the renewal invoice is void, collection paused until 1 January.
    invoice = client.v1.invoices.retrieve(draft, options=options)
    assert invoice.status == "void" and invoice.amount_paid == 0
    sub = client.v1.subscriptions.retrieve(recurring.stripe_subscription_id, options=options)
    assert sub.pause_collection.behavior == "void"
    # Hours later nothing was charged, and the events that follow change nothing.
    connect.advance(days=1)
    committed(connect.deliver)
    assert client.v1.invoices.retrieve(draft, options=options).status == "void"
    assert not client.v1.invoice_payments.list(params={"invoice": draft}, options=options).data
    with in_schema(alpha.nation):
        recurring.refresh_from_db()
        assert recurring.status == "paused" and recurring.stop_reason == "annual_limit"
        assert recurring.paused_until.month == 1 and recurring.paused_until.day == 1
        assert Donation.objects.filter(status="paid").count() == 2
        person = Person.objects.get(email="zoe@example.org")
        assert person.donations_total == 710_000
    [notice] = mailbox.to("zoe@example.org")
    assert "not charged" in notice["Subject"]
    body = notice.get_content()
    assert "7,500.00 €" in body and "/donations/manage/" in body
    manage = re.search(r"https?://\S+(/donations/manage/\S+/)", body).group(1)
    assert "nothing more is charged until" in ready.get(manage).content.decode()
    [staff] = mailbox.to(alpha.owner.email)
    assert "Zoé Martin" in staff.get_content()
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    page = owner.get("/panel/donations/").content.decode()
    assert "Paused" in page and "Yearly limit per donor reached" in page


def test_renewal_past_the_election_cap_stops_the_gift(
    alpha, ready, connect, committed, eager_tasks, mailbox
):
    with in_schema(alpha.nation):
        rules_apply_preset(settings=donation_settings(), rules="fr_candidate")
    _give(ready, connect, committed, frequency="month", other_amount="300", nonce="m", **FR)
    _give(ready, connect, committed, other_amount="4100", nonce="o", **FR)  # 4,400 of 4,600
    with in_schema(alpha.nation):
        recurring = RecurringDonation.objects.get()
    mailbox.clear()
    draft = _to_renewal_draft(alpha, connect, recurring)
    committed(connect.deliver)
    connect.advance(days=2)
    committed(connect.deliver)
    client, options = _stripe(alpha)
    assert client.v1.invoices.retrieve(draft, options=options).status == "void"
    sub = client.v1.subscriptions.retrieve(recurring.stripe_subscription_id, options=options)
    assert sub.status == "canceled"
    with in_schema(alpha.nation):
        recurring.refresh_from_db()
        assert recurring.status == "canceled" and recurring.stop_reason == "election_limit"
        assert Donation.objects.filter(status="paid").count() == 2
    [notice] = mailbox.to("zoe@example.org")
    assert "4,600.00 €" in notice.get_content() and "stopped" in notice.get_content()


def test_renewal_within_the_cap_is_charged(alpha, ready, connect, committed):
    with in_schema(alpha.nation):
        rules_apply_preset(settings=donation_settings(), rules="fr_party")
    _give(ready, connect, committed, frequency="month", other_amount="100", nonce="m", **FR)
    with in_schema(alpha.nation):
        recurring = RecurringDonation.objects.get()
    draft = _to_renewal_draft(alpha, connect, recurring)
    committed(connect.deliver)  # invoice.created: within the rules, left alone
    client, options = _stripe(alpha)
    assert client.v1.invoices.retrieve(draft, options=options).status == "draft"
    connect.advance(seconds=2 * 3600)  # Stripe finalizes and charges it an hour later
    committed(connect.deliver)
    assert client.v1.invoices.retrieve(draft, options=options).status == "paid"
    with in_schema(alpha.nation):
        recurring.refresh_from_db()
        assert recurring.status == "active" and not recurring.stop_reason
        assert Donation.objects.filter(status="paid", stripe_invoice_id=draft).count() == 1


def test_refund_of_a_renewal_from_the_panel_and_from_stripe(alpha, ready, connect, committed):
    _give(ready, connect, committed, frequency="month", other_amount="20", nonce="m")
    connect.advance(days=32)
    committed(connect.deliver)
    with in_schema(alpha.nation):
        first, renewal = Donation.objects.filter(status="paid").order_by("id")[:2]
        assert renewal.recurring_id == first.recurring_id and renewal.stripe_invoice_id
        assert Person.objects.get(email="zoe@example.org").donations_total == 4000
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    page = owner.get(f"/panel/donations/{renewal.pk}/").content.decode()
    assert "does not stop the recurring gift" in page
    owner.post(f"/panel/donations/{renewal.pk}/refund/", {"amount": "5"})
    committed(connect.deliver)  # charge.refunded comes back: counted once
    with in_schema(alpha.nation):
        renewal.refresh_from_db()
        assert renewal.refunded_amount == 500 and renewal.stripe_payment_intent_id
        assert Person.objects.get(email="zoe@example.org").donations_total == 3500
    # The first payment refunded in Stripe's dashboard: only the webhook tells us.
    client, options = _stripe(alpha)
    with in_schema(alpha.nation):
        first.refresh_from_db()
        assert first.stripe_invoice_id and not first.stripe_payment_intent_id
    [link] = client.v1.invoice_payments.list(
        params={"invoice": first.stripe_invoice_id}, options=options
    ).data
    client.v1.refunds.create(
        params={"payment_intent": link.payment.payment_intent}, options=options
    )
    results = committed(connect.deliver)
    assert ("charge.refunded", 200, {"received": True, "outcome": "processed"}) in results
    committed(connect.deliver)
    with in_schema(alpha.nation):
        first.refresh_from_db()
        assert first.status == "refunded" and first.refunded_amount == 2000
        person = Person.objects.get(email="zoe@example.org")
        assert (person.donations_count, person.donations_total) == (1, 1500)
        assert RecurringDonation.objects.get().status == "active"  # the gift itself goes on


def test_a_renewal_event_from_another_nations_account_touches_nothing(
    alpha, bravo, ready, connect, committed
):
    """Bravo's connected account cannot stop Alpha's recurring gift by naming its subscription
    in a (validly signed) event: events act only in the schema of the account they come from."""
    import json

    from config.stripe_server import sign

    from .conftest import CONNECT_SECRET, post_event

    with in_schema(alpha.nation):
        rules_apply_preset(settings=donation_settings(), rules="fr_party")
    _give(ready, connect, committed, frequency="month", other_amount="600", nonce="m", **FR)
    _give(ready, connect, committed, other_amount="6500", nonce="o", **FR)  # over the cap
    connect_nation(connect, bravo.nation, currency="EUR")
    with in_schema(alpha.nation):
        recurring = RecurringDonation.objects.get()
    event = {
        "id": "evt_cross_nation_1",
        "object": "event",
        "type": "invoice.created",
        "account": bravo.nation.stripe_account.account_id,
        "created": 1,
        "data": {
            "object": {
                "id": "in_cross_nation_1",
                "object": "invoice",
                "status": "draft",
                "billing_reason": "subscription_cycle",
                "amount_due": 60000,
                "parent": {
                    "subscription_details": {
                        "subscription": recurring.stripe_subscription_id,
                        "metadata": {},
                    }
                },
            }
        },
    }
    payload = json.dumps(event)
    response = committed(post_event, payload, sign(payload, CONNECT_SECRET))
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    with in_schema(alpha.nation):
        recurring.refresh_from_db()
        assert recurring.status == "active" and not recurring.stop_reason


def test_a_renewal_charged_past_the_cap_anyway_is_refunded_at_once(
    alpha, ready, connect, committed, eager_tasks, mailbox
):
    """Our endpoint missed the draft (down for the hour): the charge goes through, and its
    invoice.paid refunds it in full and pauses the gift, as the draft check would have."""
    with in_schema(alpha.nation):
        rules_apply_preset(settings=donation_settings(), rules="fr_party")
    _give(ready, connect, committed, frequency="month", other_amount="600", nonce="m", **FR)
    _give(ready, connect, committed, other_amount="6500", nonce="o", **FR)
    mailbox.clear()
    connect.advance(days=32)  # drafted, finalized and charged before any event is delivered
    results = committed(connect.deliver)
    assert ("invoice.paid", 200, {"received": True, "outcome": "processed"}) in results
    committed(connect.deliver)  # the refund's own events: nothing changes twice
    with in_schema(alpha.nation):
        recurring = RecurringDonation.objects.get()
        renewal = Donation.objects.get(recurring=recurring, stripe_invoice_id__isnull=False,
                                       status="refunded")  # fmt: skip
        assert renewal.refunded_amount == renewal.amount == 60000
        assert recurring.status == "paused" and recurring.stop_reason == "annual_limit"
        assert Person.objects.get(email="zoe@example.org").donations_total == 710_000
    client, options = _stripe(alpha)
    [link] = client.v1.invoice_payments.list(
        params={"invoice": renewal.stripe_invoice_id}, options=options
    ).data
    charge = client.v1.payment_intents.retrieve(link.payment.payment_intent, options=options)
    assert client.v1.charges.retrieve(charge.latest_charge, options=options).refunded
    [notice] = mailbox.to("zoe@example.org")  # no thank-you receipt for a refunded renewal
    assert "refunded" in notice["Subject"]
