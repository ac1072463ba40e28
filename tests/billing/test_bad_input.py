"""Unknown plan, tampered price, bad or expired coupon, downgrade below usage, foreign checkout:
each gets a clear message and changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.models import Plan, Subscription
from billing.stripe_client import stripe_client
from tenants.models import Membership, Nation, User
from tests.conftest import client_for

from .helpers import local_path, messages_of, subscribe

pytestmark = pytest.mark.django_db


def test_signup_with_an_unknown_plan_is_refused(platform_client):
    response = platform_client.post(
        "/signup/",
        {
            "name": "Gold Rush",
            "slug": "gold-rush",
            "full_name": "Ada",
            "email": "ada@example.org",
            "password": "a-long-enough-passphrase",
            "country": "FR",
            "language": "en",
            "plan": "platinum",
        },
    )
    assert response.status_code == 200
    assert "platinum is not one of the available choices" in response.content.decode()
    assert not Nation.objects.filter(slug="gold-rush").exists()


def test_signup_starts_the_trial_on_the_chosen_plan(platform_client):
    response = platform_client.post(
        "/signup/",
        {
            "name": "Big Campaign",
            "slug": "big-campaign",
            "full_name": "Ada",
            "email": "ada2@example.org",
            "password": "a-long-enough-passphrase",
            "country": "US",
            "language": "en",
            "plan": "campaign",
        },
    )
    assert response.status_code == 302
    sub = Subscription.objects.get(nation__slug="big-campaign")
    assert (sub.plan.code, sub.status, sub.nation.plan) == ("campaign", "trialing", "campaign")


@pytest.mark.parametrize("price", ["price_tampered", "", "<script>"])
def test_a_tampered_price_is_refused_before_stripe(alpha, stripe, price):
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    response = owner.post("/panel/settings/billing/checkout/", {"price": price}, follow=True)
    assert "This plan is not available." in " ".join(messages_of(response))
    assert Subscription.objects.get(nation=alpha.nation).stripe_customer_id == ""


def test_a_retired_plan_is_not_sold(alpha, stripe):
    Plan.objects.filter(code="movement").update(is_active=False)
    price = Plan.objects.get(code="movement").stripe_monthly_price_id
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    response = owner.post("/panel/settings/billing/checkout/", {"price": price}, follow=True)
    assert "This plan is not available." in " ".join(messages_of(response))
    assert "Subscribe to Movement" not in response.content.decode()


def test_downgrade_below_usage_says_which_limit_and_by_how_much(alpha, stripe):
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    sub = subscribe(stripe, owner, alpha.nation, "organizer")
    for i in range(3):  # staff: alpha's own + 3 = 4 seats, Starter has 2
        user = User.objects.create_user(email=f"extra{i}@example.org", password=None, full_name="X")
        Membership.objects.create(user=user, nation=alpha.nation, role="staff")
    starter = Plan.objects.get(code="starter")
    response = owner.post(
        "/panel/settings/billing/change/", {"price": starter.stripe_monthly_price_id}, follow=True
    )
    text = " ".join(messages_of(response))
    assert "4 staff seats where Starter allows 2 (2 too many)" in text
    sub.refresh_from_db()
    assert sub.plan.code == "organizer"
    stripe_sub = stripe_client().v1.subscriptions.retrieve(sub.stripe_subscription_id)
    assert (
        stripe_sub["items"].data[0].price.id
        == Plan.objects.get(code="organizer").stripe_monthly_price_id
    )


def test_an_upgrade_with_a_declined_card_changes_nothing(alpha, stripe):
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    sub = subscribe(stripe, owner, alpha.nation)
    client = stripe_client()
    card = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": sub.stripe_customer_id}
    )
    client.v1.customers.update(
        sub.stripe_customer_id, params={"invoice_settings": {"default_payment_method": card.id}}
    )
    price = Plan.objects.get(code="campaign").stripe_monthly_price_id
    response = owner.post("/panel/settings/billing/change/", {"price": price}, follow=True)
    assert "Your card was declined." in " ".join(messages_of(response))
    sub.refresh_from_db()
    assert sub.plan.code == "starter" and sub.status == "active"


def test_coupons_unknown_expired_and_good(alpha, stripe, django_user_model):
    operator = django_user_model.objects.create_superuser(
        email="op@example.org", password="x", full_name="Op"
    )
    console = Client(HTTP_HOST="localhost")
    console.force_login(operator)
    url = f"/operator/billing/nations/{alpha.nation.pk}/coupon/"
    client = stripe_client()
    client.v1.coupons.create(
        params={
            "id": f"SHORT{stripe.now()}",
            "percent_off": 50,
            "duration": "forever",
            "redeem_by": stripe.now() + 86400,
        }
    )
    expired = f"SHORT{stripe.now()}"
    stripe.advance(days=2)
    good = f"HALF{stripe.now()}"
    client.v1.coupons.create(params={"id": good, "percent_off": 50, "duration": "forever"})

    response = console.post(url, {"coupon": "NOPE"}, follow=True)
    assert "No coupon NOPE exists." in " ".join(messages_of(response))
    response = console.post(url, {"coupon": expired}, follow=True)
    assert f"The coupon {expired} has expired." in " ".join(messages_of(response))
    assert Subscription.objects.get(nation=alpha.nation).coupon == ""
    response = console.post(url, {"coupon": good}, follow=True)
    assert f"Coupon {good} applied" in " ".join(messages_of(response))

    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    sub = subscribe(stripe, owner, alpha.nation)  # the coupon rides along to Checkout
    first = client.v1.invoices.list(params={"customer": sub.stripe_customer_id}).data[0]
    assert first.total == 1450  # $29 - 50%


def test_a_checkout_of_another_nation_is_refused(alpha, bravo, stripe):
    alpha_owner = client_for(alpha.host, alpha.owner, alpha.nation)
    price = Plan.objects.get(code="starter").stripe_monthly_price_id
    checkout = alpha_owner.post("/panel/settings/billing/checkout/", {"price": price})
    status, location = stripe.pay(checkout["Location"])
    bravo_owner = client_for(bravo.host, bravo.owner, bravo.nation)
    response = bravo_owner.get(local_path(location), follow=True)
    assert "does not belong to this nation" in " ".join(messages_of(response))
    assert Subscription.objects.get(nation=bravo.nation).stripe_subscription_id == ""
    response = bravo_owner.get("/panel/settings/billing/return/?session_id=cs_bogus", follow=True)
    assert response.status_code == 200
