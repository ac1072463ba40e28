"""The whole life of a paying nation against the local Stripe server, advancing its clock:
trial -> subscribe -> upgrade -> failed renewal -> grace -> read-only -> suspended -> paid ->
restored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import Plan, Subscription, WebhookEvent
from billing.state import can_send, tick
from billing.stripe_client import stripe_client
from tenants.models import Nation
from tests.conftest import client_for

from .helpers import at, local_path, subscribe

pytestmark = pytest.mark.django_db


def test_a_new_nation_is_on_a_14_day_trial_of_its_plan(alpha, stripe):
    sub = Subscription.objects.get(nation=alpha.nation)
    assert sub.status == "trialing" and sub.plan.code == "starter"
    left = sub.trial_ends_at - timezone.now()
    assert timedelta(days=13) < left <= timedelta(days=14)
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    page = owner.get("/panel/settings/billing/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "days left in your trial" in body
    assert "Subscribe to Organizer" in body  # the upgrade path
    assert 'role="progressbar"' in body and "of 2,500" in body  # usage against the people limit


def test_full_path_from_trial_to_restored(
    alpha, stripe, mailbox, django_capture_on_commit_callbacks
):
    nation = alpha.nation
    owner = client_for(alpha.host, alpha.owner, nation)
    site = Client(HTTP_HOST=alpha.host)

    # Subscribe through Checkout: a declined card first, then one that works.
    plan = Plan.objects.get(code="starter")
    response = owner.post(
        "/panel/settings/billing/checkout/", {"price": plan.stripe_monthly_price_id}
    )
    assert response.status_code == 303 and response["Location"].startswith(stripe.url)
    status, body = stripe.pay(response["Location"], card="4000000000000002")
    assert status == 402 and "declined" in body
    assert Subscription.objects.get(nation=nation).stripe_subscription_id == ""
    status, location = stripe.pay(response["Location"])
    assert status == 303 and "/panel/settings/billing/return/?session_id=cs_" in location
    back = owner.get(local_path(location), follow=True)
    assert "Thank you!" in back.content.decode()
    sub = Subscription.objects.get(nation=nation)
    assert (sub.status, sub.stripe_status, sub.plan.code) == ("active", "active", "starter")
    outcomes = stripe.deliver()
    assert outcomes and all(status == 200 for _t, status, _b in outcomes)

    # Upgrade, prorated and charged now.
    organizer = Plan.objects.get(code="organizer")
    owner.post("/panel/settings/billing/change/", {"price": organizer.stripe_monthly_price_id})
    sub.refresh_from_db()
    nation.refresh_from_db()
    assert sub.plan.code == "organizer" and nation.plan == "organizer"
    client = stripe_client()
    invoices = client.v1.invoices.list(params={"customer": sub.stripe_customer_id}).data
    upgrade = next(i for i in invoices if i.billing_reason == "subscription_update")
    assert upgrade.status == "paid" and 6900 <= upgrade.amount_paid <= 7000
    stripe.deliver()

    # The card starts failing; the renewal a month later fails.
    card = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": sub.stripe_customer_id}
    )
    client.v1.customers.update(
        sub.stripe_customer_id, params={"invoice_settings": {"default_payment_method": card.id}}
    )
    stripe.advance(days=32)
    with django_capture_on_commit_callbacks(execute=True):
        results = stripe.deliver()
    assert ("invoice.payment_failed", 200, {"received": True, "outcome": "processed"}) in results
    sub.refresh_from_db()
    assert (sub.status, sub.stripe_status) == ("past_due", "past_due")
    [mail] = mailbox.to(alpha.owner.email)
    assert "Payment failed" in mail["Subject"]
    assert "/panel/settings/billing/" in mail.get_content()
    assert "A payment failed." in owner.get("/panel/").content.decode()
    assert can_send(nation)

    # 7 days later the panel is read-only: reads work, writes are refused, blasts pause.
    now = stripe.advance(days=7, seconds=60)
    stripe.deliver()
    tick(at(now), nation_ids=[nation.pk])
    sub.refresh_from_db()
    assert sub.status == "read_only"
    assert not can_send(nation)
    assert owner.get("/panel/").status_code == 200
    refused = owner.post("/panel/settings/", {"name": "Renamed"})
    assert refused.status_code == 423 and "read-only" in refused.content.decode()
    nation.refresh_from_db()
    assert nation.name == "Alpha Nation"
    assert site.get("/").status_code == 200  # the public site keeps serving

    # 14 more days: suspended, data kept; the billing page stays reachable to pay.
    now = stripe.advance(days=14, seconds=60)
    stripe.deliver()
    tick(at(now), nation_ids=[nation.pk])
    sub.refresh_from_db()
    nation.refresh_from_db()
    assert sub.status == "suspended" and nation.status == Nation.Status.SUSPENDED
    assert site.get("/").status_code == 503
    assert owner.get("/panel/").status_code == 423
    assert owner.get("/panel/settings/billing/").status_code == 200

    # Paying (a new card in the portal) restores everything at once.
    portal = owner.post("/panel/settings/billing/portal/")
    assert portal.status_code == 303
    status, body = stripe.submit(
        portal["Location"], {"action": "update_card", "card_number": "4242424242424242"}
    )
    assert status == 200 and "Your card was updated." in body
    with django_capture_on_commit_callbacks(execute=True):
        stripe.deliver()
    sub.refresh_from_db()
    nation.refresh_from_db()
    assert (sub.status, sub.stripe_status, sub.dunning_since) == ("active", "active", None)
    assert nation.status == Nation.Status.ACTIVE
    assert site.get("/").status_code == 200
    assert owner.post("/panel/settings/", {"name": "Alpha Nation"}).status_code != 423
    assert WebhookEvent.objects.filter(nation=nation, outcome="processed").exists()


def test_trial_that_ends_without_a_plan_takes_the_same_path(
    alpha, mailbox, django_capture_on_commit_callbacks
):
    sub = Subscription.objects.get(nation=alpha.nation)
    end = sub.trial_ends_at
    with django_capture_on_commit_callbacks(execute=True):
        tick(end + timedelta(minutes=1), nation_ids=[alpha.nation.pk])
    sub.refresh_from_db()
    assert sub.status == "past_due"
    assert "trial" in mailbox.to(alpha.owner.email)[0]["Subject"]
    tick(end + timedelta(days=7, minutes=1), nation_ids=[alpha.nation.pk])
    sub.refresh_from_db()
    assert sub.status == "read_only"
    tick(end + timedelta(days=21, minutes=1), nation_ids=[alpha.nation.pk])
    alpha.nation.refresh_from_db()
    assert alpha.nation.status == "suspended"


def test_cancellation_runs_to_the_period_end_then_dunning(alpha, stripe):
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    sub = subscribe(stripe, owner, alpha.nation)
    stripe.deliver()
    portal = owner.post("/panel/settings/billing/portal/")
    status, body = stripe.submit(
        portal["Location"], {"action": "cancel", "subscription": sub.stripe_subscription_id}
    )
    assert "will end on" in body
    stripe.deliver()
    sub.refresh_from_db()
    assert sub.cancel_at_period_end and sub.status == "active"
    stripe.advance(days=32)
    stripe.deliver()
    sub.refresh_from_db()
    assert sub.stripe_status == "canceled" and sub.status == "past_due"
    assert sub.dunning_since is not None
