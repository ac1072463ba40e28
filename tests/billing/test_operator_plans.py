"""Operators add, change, retire and sync plans without a deploy."""

from __future__ import annotations

import pytest

from billing.models import Plan
from tenants.models import User
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(db):
    operator = User.objects.create_superuser(
        email="ops@platform.example", password="x" * 12, full_name="Ops"
    )
    return client_for("localhost", operator)


def test_operator_adds_a_plan_and_syncs_it_to_stripe(console, stripe):
    response = console.post(
        "/operator/billing/plans/new/",
        {
            "code": "coalition",
            "name": "Coalition",
            "position": 9,
            "currency": "eur",
            "monthly": "499",
            "yearly": "4990",
            "people_limit": "150000",
            "emails_per_month": "800000",
            "sms_per_month": "5000",
            "staff_seats": "25",
            "custom_domains": "12",
            "api_rate_per_minute": "600",
            "features": ["site", "email", "sms"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = Plan.objects.get(code="coalition")
    assert (plan.monthly_cents, plan.yearly_cents, plan.people_limit) == (49900, 499000, 150000)
    assert not plan.stripe_monthly_price_id
    console.post("/operator/billing/plans/sync/")
    plan.refresh_from_db()
    assert plan.stripe_monthly_price_id and plan.stripe_yearly_price_id
    assert "Coalition" in console.get("/operator/billing/plans/").content.decode()


def test_retiring_a_plan_stops_offering_it_and_can_be_undone(console, alpha):
    plan = Plan.objects.get(code="starter")
    console.post(f"/operator/billing/plans/{plan.pk}/toggle/")
    plan.refresh_from_db()
    assert not plan.is_active
    signup = client_for("localhost").get("/signup/").content.decode()
    assert 'value="starter"' not in signup
    console.post(f"/operator/billing/plans/{plan.pk}/toggle/")
    plan.refresh_from_db()
    assert plan.is_active


def test_bad_plan_input_is_refused_with_messages(console):
    response = console.post(
        "/operator/billing/plans/new/", {"code": "", "name": "", "monthly": "-3", "yearly": "x"}
    )
    form = response.context["form"]
    assert form.errors["code"] and form.errors["monthly"] and form.errors["yearly"]
    assert not Plan.objects.filter(name="").exists()


def test_only_operators_manage_plans(alpha):
    owner = client_for("localhost", alpha.owner)
    assert owner.get("/operator/billing/plans/").status_code == 403
    plan = Plan.objects.get(code="starter")
    owner.post(f"/operator/billing/plans/{plan.pk}/toggle/")
    plan.refresh_from_db()
    assert plan.is_active
