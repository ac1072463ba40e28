"""The local Stripe server as the official SDK sees it: Idempotency-Key, Stripe-Account scoping,
signed Connect events, and the renewal invoice lifecycle the contribution rules rely on
(draft -> finalize without collection -> void; pause_collection; invoice payments)."""

from __future__ import annotations

import json

import pytest
import stripe

from billing.stripe_client import stripe_client

from .conftest import CONNECT_SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(connect):
    client = stripe_client()
    made = []
    for _name in ("A", "B"):
        account = client.v1.accounts.create(params={"type": "standard", "country": "FR"})
        connect.post(f"/_local/accounts/{account.id}/enable")
        made.append(account.id)
    return client, made


def test_idempotency_key_replays_the_same_answer_and_refuses_other_params(accounts):
    client, (a, _b) = accounts
    options = {"stripe_account": a, "idempotency_key": "same-key-1"}
    first = client.v1.customers.create(params={"email": "x@example.org"}, options=options)
    again = client.v1.customers.create(params={"email": "x@example.org"}, options=options)
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(params={"email": "y@example.org"}, options=options)


def test_objects_belong_to_their_connected_account(accounts):
    client, (a, b) = accounts
    customer = client.v1.customers.create(
        params={"email": "x@example.org"}, options={"stripe_account": a}
    )
    assert (
        client.v1.customers.retrieve(customer.id, options={"stripe_account": a}).id == customer.id
    )
    for other in ({"stripe_account": b}, {}):
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.retrieve(customer.id, options=other)


def _monthly(client, connect, account: str, card: str = "4242424242424242"):
    options = {"stripe_account": account}
    price = client.v1.prices.create(
        params={
            "currency": "eur",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Monthly gift"},
        },
        options=options,
    )
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 1}],
            "success_url": "http://example.org/ok",
        },
        options=options,
    )
    status, _ = connect.submit(
        session.url, {"email": "d@example.org", "card_number": card, "exp": "12 / 34", "name": "D"}
    )
    assert status == 303
    session = client.v1.checkout.sessions.retrieve(session.id, options=options)
    return client.v1.subscriptions.retrieve(session.subscription, options=options)


def test_renewal_is_drafted_then_charged_an_hour_later_with_its_payment_linked(accounts, connect):
    client, (a, _b) = accounts
    options = {"stripe_account": a}
    sub = _monthly(client, connect, a)
    connect.drain()
    connect.post("/_local/clock/advance", {"to": sub["items"].data[0].current_period_end + 60})
    draft = client.v1.invoices.retrieve(
        client.v1.subscriptions.retrieve(sub.id, options=options).latest_invoice, options=options
    )
    assert draft.status == "draft" and draft.number is None and draft.automatically_finalizes_at
    events = [json.loads(d["payload"]) for d in connect.drain()]
    [created] = [
        e
        for e in events
        if e["type"] == "invoice.created" and e["data"]["object"]["id"] == draft.id
    ]  # (other tests' subscriptions renew on the shared clock too)
    assert created["account"] == a and created["data"]["object"]["status"] == "draft"
    connect.post("/_local/clock/advance", {"seconds": 2 * 3600})
    paid = client.v1.invoices.retrieve(draft.id, options=options)
    assert paid.status == "paid" and paid.number
    [link] = client.v1.invoice_payments.list(params={"invoice": draft.id}, options=options).data
    intent = client.v1.payment_intents.retrieve(link.payment.payment_intent, options=options)
    assert intent.status == "succeeded" and intent.amount == 1000
    by_intent = client.v1.invoice_payments.list(
        params={"payment": {"type": "payment_intent", "payment_intent": intent.id}}, options=options
    )
    assert [p.invoice for p in by_intent.data] == [draft.id]


def test_events_are_signed_for_the_connect_endpoint(accounts, connect):
    client, (a, _b) = accounts
    connect.drain()
    customer = client.v1.customers.create(
        params={"email": "s@example.org"}, options={"stripe_account": a}
    )
    client.v1.customers.update(customer.id, params={"name": "S"}, options={"stripe_account": a})
    [delivery] = [d for d in connect.drain() if json.loads(d["payload"]).get("account") == a]
    event = stripe.Webhook.construct_event(
        delivery["payload"], delivery["signature"], CONNECT_SECRET
    )
    assert event.type == "customer.updated" and event.account == a
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery["payload"], delivery["signature"], "whsec_other")


def test_a_draft_must_be_finalized_before_it_is_voided_and_pause_voids_renewals(accounts, connect):
    client, (a, _b) = accounts
    options = {"stripe_account": a}
    sub = _monthly(client, connect, a)
    connect.post("/_local/clock/advance", {"to": sub["items"].data[0].current_period_end + 60})
    draft_id = client.v1.subscriptions.retrieve(sub.id, options=options).latest_invoice
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(draft_id, options=options)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.delete(draft_id, options=options)  # a subscription's: void it
    opened = client.v1.invoices.finalize_invoice(
        draft_id, params={"auto_advance": False}, options=options
    )
    assert opened.status == "open" and opened.attempt_count == 0  # not charged
    assert client.v1.invoices.void_invoice(draft_id, options=options).status == "void"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.update(
            sub.id, params={"pause_collection": {"behavior": "later"}}, options=options
        )
    paused = client.v1.subscriptions.update(
        sub.id, params={"pause_collection": {"behavior": "void"}}, options=options
    )
    assert paused.pause_collection.behavior == "void"
    current = client.v1.subscriptions.retrieve(sub.id, options=options)
    connect.post(
        "/_local/clock/advance", {"to": current["items"].data[0].current_period_end + 7200}
    )
    renewal = client.v1.invoices.retrieve(
        client.v1.subscriptions.retrieve(sub.id, options=options).latest_invoice, options=options
    )
    assert renewal.id != draft_id and renewal.status == "void" and renewal.amount_paid == 0
    assert client.v1.subscriptions.retrieve(sub.id, options=options).status == "active"
