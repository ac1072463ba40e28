"""Billing pages: owners only, one nation's billing never reachable from another; the operator's
revenue view and actions."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.models import Plan, Subscription
from billing.state import tick
from tests.conftest import PASSWORD, client_for

from .helpers import messages_of, subscribe

pytestmark = pytest.mark.django_db
PAGES = [
    ("get", "/panel/settings/billing/"),
    ("get", "/panel/settings/billing/return/?session_id=cs_x"),
    ("post", "/panel/settings/billing/checkout/"),
    ("post", "/panel/settings/billing/change/"),
    ("post", "/panel/settings/billing/portal/"),
]


def test_only_owners_manage_billing(alpha):
    staff = client_for(alpha.host, alpha.staff, alpha.nation)
    for method, url in PAGES:
        assert getattr(staff, method)(url).status_code == 403
    alpha.nation.memberships.filter(user=alpha.staff).update(role="admin")
    assert staff.get("/panel/settings/billing/").status_code == 403
    assert "Billing" not in staff.get("/panel/settings/").content.decode()


def test_billing_of_a_is_unreachable_from_b(alpha, bravo, stripe):
    subscribe(stripe, client_for(alpha.host, alpha.owner, alpha.nation), alpha.nation)
    before = Subscription.objects.filter(nation=alpha.nation).values().get()
    home = Client(HTTP_HOST=bravo.host)
    home.post("/panel/login/", {"email": bravo.owner.email, "password": PASSWORD})
    replayed = Client(HTTP_HOST=alpha.host)
    replayed.cookies = home.cookies
    price = Plan.objects.get(code="nation").stripe_monthly_price_id
    for method, url in PAGES:
        response = getattr(replayed, method)(url, {"price": price})
        assert response.status_code == 302 and "/panel/login/" in response["Location"]
    mine = home.get("/panel/settings/billing/").content.decode()
    assert alpha.nation.name not in mine and before["stripe_customer_id"] not in mine
    assert Subscription.objects.filter(nation=alpha.nation).values().get() == before


def test_operator_revenue_view_and_actions(alpha, bravo, stripe, django_user_model):
    subscribe(
        stripe, client_for(alpha.host, alpha.owner, alpha.nation), alpha.nation, "organizer", "year"
    )
    operator = django_user_model.objects.create_superuser(
        email="op@example.org", password="x", full_name="Op"
    )
    console = Client(HTTP_HOST="localhost")
    console.force_login(operator)
    page = console.get("/operator/billing/")
    body = page.content.decode()
    assert page.status_code == 200
    assert '<svg class="chart"' in body and "Monthly recurring revenue by plan" in body
    mrr = page.context["mrr"]
    assert mrr >= 8200  # Organizer yearly: $984 / 12
    assert page.context["arr"] == mrr * 12
    assert "$82" in body  # value printed beside its bar, readable without colour

    url = f"/operator/billing/nations/{bravo.nation.pk}/"
    console.post(url + "comp/", {"plan": "campaign"})
    sub = Subscription.objects.get(nation=bravo.nation)
    assert sub.comped and sub.plan.code == "campaign" and sub.mrr_cents == 0
    response = console.post(url + "comp/", {"plan": "gold"}, follow=True)
    assert "Unknown plan: gold." in " ".join(messages_of(response))
    console.post(url + "end-comp/")

    end = Subscription.objects.get(nation=bravo.nation).trial_ends_at
    tick(end, nation_ids=[bravo.nation.pk])
    assert Subscription.objects.get(nation=bravo.nation).status == "past_due"
    console.post(url + "extend-trial/", {"days": "10"})
    sub = Subscription.objects.get(nation=bravo.nation)
    assert sub.status == "trialing" and sub.dunning_since is None
    response = console.post(url + "extend-trial/", {"days": "-3"}, follow=True)
    assert "1 to 90 days" in " ".join(messages_of(response))
    assert Client(HTTP_HOST="localhost").get("/operator/billing/").status_code == 302
