"""The Stripe webhook: forged or stale signatures, replays, out-of-order delivery, strangers."""

from __future__ import annotations

import json
import time

import pytest
import stripe as stripe_sdk
from django.test import Client

from billing.models import Plan, Subscription, WebhookEvent
from billing.stripe_client import stripe_client
from config.stripe_server import sign
from tests.conftest import client_for

from .conftest import WEBHOOK_SECRET
from .helpers import subscribe

pytestmark = pytest.mark.django_db
URL = "/billing/webhooks/stripe/"


def post(payload: str, signature: str):
    return Client(HTTP_HOST="localhost").post(
        URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


def test_our_signatures_are_stripes(stripe):
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "ping", "data": {"object": {}}})
    event = stripe_sdk.Webhook.construct_event(
        payload, sign(payload, WEBHOOK_SECRET), WEBHOOK_SECRET
    )
    assert event.id == "evt_1"


def test_forged_stale_or_missing_signatures_change_nothing(alpha, stripe):
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    subscribe(stripe, owner, alpha.nation)
    [delivery, *_rest] = stripe.drain()
    before = Subscription.objects.filter(nation=alpha.nation).values().get()
    forged = sign(delivery["payload"], "whsec_not_ours")
    stale = sign(delivery["payload"], WEBHOOK_SECRET, timestamp=int(time.time()) - 3600)
    tampered = delivery["payload"].replace('"livemode": false', '"livemode": true')
    for payload, signature in (
        (delivery["payload"], forged),
        (delivery["payload"], stale),
        (delivery["payload"], ""),
        (tampered, delivery["signature"]),
        ("not json", sign("not json", WEBHOOK_SECRET)),
    ):
        assert post(payload, signature).status_code == 400
    assert not WebhookEvent.objects.exists()
    assert Subscription.objects.filter(nation=alpha.nation).values().get() == before


def test_replays_are_acknowledged_and_processed_once(alpha, stripe):
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    subscribe(stripe, owner, alpha.nation)
    deliveries = stripe.drain()
    for d in deliveries:
        assert post(d["payload"], d["signature"]).json()["outcome"] in ("processed", "ignored")
    count = WebhookEvent.objects.count()
    for d in deliveries * 3:
        response = post(d["payload"], d["signature"])
        assert response.status_code == 200 and response.json()["outcome"] == "duplicate"
    assert WebhookEvent.objects.count() == count == len(deliveries)


def test_out_of_order_delivery_converges_on_stripes_state(alpha, stripe):
    """Events arrive newest first (updated before created, paid before checkout completed),
    and without the return from Checkout: the nation still ends on Stripe's current state."""
    nation = alpha.nation
    owner = client_for(alpha.host, alpha.owner, nation)
    starter = Plan.objects.get(code="starter")
    checkout = owner.post(
        "/panel/settings/billing/checkout/", {"price": starter.stripe_monthly_price_id}
    )
    stripe.pay(checkout["Location"])  # no return to our site: only webhooks will tell
    client = stripe_client()
    sub_id = (
        client.v1.subscriptions.list(
            params={"customer": Subscription.objects.get(nation=nation).stripe_customer_id}
        )
        .data[0]
        .id
    )
    item = client.v1.subscriptions.retrieve(sub_id)["items"].data[0].id
    campaign = Plan.objects.get(code="campaign")
    client.v1.subscriptions.update(
        sub_id, params={"items": [{"id": item, "price": campaign.stripe_yearly_price_id}]}
    )
    deliveries = stripe.drain()
    types = [d["type"] for d in deliveries]
    assert types.index("customer.subscription.created") < types.index(
        "customer.subscription.updated"
    )
    for d in reversed(deliveries):
        assert post(d["payload"], d["signature"]).status_code == 200
    sub = Subscription.objects.get(nation=nation)
    assert (sub.stripe_subscription_id, sub.stripe_status) == (sub_id, "active")
    assert (sub.plan.code, sub.interval, sub.status) == ("campaign", "year", "active")


def test_an_event_for_a_stranger_changes_nothing(alpha, bravo, stripe):
    client = stripe_client()
    customer = client.v1.customers.create(params={"email": "stranger@example.org"})
    client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    price = Plan.objects.get(code="starter").stripe_monthly_price_id
    pm = client.v1.payment_methods.list(params={"customer": customer.id}).data[0]
    stripe.drain()
    client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price}],
            "default_payment_method": pm.id,
        }
    )
    before = list(Subscription.objects.order_by("pk").values())
    results = stripe.deliver()
    assert results and {body["outcome"] for _t, _s, body in results} == {"unknown_customer"}
    assert list(Subscription.objects.order_by("pk").values()) == before
