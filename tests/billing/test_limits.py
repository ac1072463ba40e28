"""Every limit at its boundary, on a tiny plan so the boundaries are cheap to reach."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import translation
from django_tenants.utils import schema_context

from billing.limits import (
    FeatureNotInPlan,
    PlanLimitReached,
    ensure_within,
    require_feature,
    usage,
)
from billing.meters import meter_consume, meter_increment, meter_value, period_start
from billing.models import Plan, Subscription
from nations.people.actions import person_upsert
from tenants.actions import DomainError, domain_add
from tenants.models import Membership, User
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny(alpha):
    """alpha on a plan of 3 people, 5 emails, 2 texts, 2 staff seats, 1 custom domain."""
    plan = Plan.objects.create(
        code="tiny",
        name="Tiny",
        monthly_cents=100,
        yearly_cents=1000,
        people_limit=3,
        emails_per_month=5,
        sms_per_month=2,
        staff_seats=2,
        custom_domains=1,
        features=["site", "people", "sms"],
        position=99,
    )
    Subscription.objects.filter(nation=alpha.nation).update(plan=plan)
    return alpha


def test_people_limit_refuses_staff_growth_beyond_it(tiny):
    nation = tiny.nation
    assert usage(nation, "people") == 1  # the marker
    ensure_within(nation, "people", adding=2)  # exactly at the limit: fine
    with pytest.raises(PlanLimitReached) as raised:
        ensure_within(nation, "people", adding=3)
    error = raised.value
    assert (error.limit_name, error.limit, error.current, error.adding) == ("people", 3, 1, 3)
    assert "3 people" in str(error) and "Tiny" in str(error)


def test_a_signature_over_the_people_limit_is_kept_and_staff_see_a_banner(tiny):
    nation = tiny.nation
    with schema_context(nation.schema_name):
        for i in range(4):  # public sign-ups go through person_upsert, never through limits
            person_upsert(
                data={"first_name": f"Signer{i}"}, email=f"s{i}@example.org", source="petition"
            )
    assert usage(nation, "people") == 5  # over the limit of 3: every supporter recorded
    with pytest.raises(PlanLimitReached):
        ensure_within(nation, "people", adding=1)
    body = client_for(tiny.host, tiny.owner, nation).get("/panel/").content.decode()
    assert "You have 5 people; your plan includes 3." in body


def test_emails_meter_counts_up_to_the_limit_and_not_one_more(tiny):
    nation = tiny.nation
    assert meter_consume(nation, "emails", 4) == 4
    assert meter_consume(nation, "emails", 1) == 5
    with pytest.raises(PlanLimitReached) as raised:
        meter_consume(nation, "emails", 1)
    assert raised.value.current == 5 and raised.value.limit == 5
    assert meter_value(nation, "emails") == 5  # the refused one was not counted
    with pytest.raises(PlanLimitReached):
        meter_consume(nation, "emails", 6)  # a batch bigger than the whole month


def test_meters_reset_on_the_billing_anchor(tiny):
    nation = tiny.nation
    sub = Subscription.objects.get(nation=nation)
    anchor = sub.billing_anchor
    meter_consume(nation, "emails", 5, now=anchor + timedelta(days=3))
    with pytest.raises(PlanLimitReached):
        meter_consume(nation, "emails", 1, now=anchor + timedelta(days=20))
    next_month = period_start(anchor, anchor + timedelta(days=40))
    assert next_month > anchor and next_month.day == min(anchor.day, next_month.day)
    assert meter_consume(nation, "emails", 5, now=next_month + timedelta(minutes=1)) == 5


def test_period_start_clamps_to_short_months():
    from datetime import UTC, datetime

    anchor = datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert period_start(anchor, datetime(2026, 2, 28, 13, tzinfo=UTC)) == datetime(
        2026, 2, 28, 12, tzinfo=UTC
    )
    assert period_start(anchor, datetime(2026, 2, 28, 11, tzinfo=UTC)) == datetime(
        2026, 1, 31, 12, tzinfo=UTC
    )
    assert period_start(anchor, datetime(2026, 3, 31, 12, tzinfo=UTC)) == datetime(
        2026, 3, 31, 12, tzinfo=UTC
    )


def test_sms_is_gated_by_feature_and_metered(alpha, tiny):
    require_feature(tiny.nation, "sms")
    assert meter_consume(tiny.nation, "sms", 2) == 2
    with pytest.raises(PlanLimitReached):
        meter_consume(tiny.nation, "sms", 1)


def test_starter_has_no_sms_and_says_which_plan_has(alpha):
    with pytest.raises(FeatureNotInPlan) as raised:
        require_feature(alpha.nation, "sms")
    assert "It comes with Organizer" in str(raised.value)
    with pytest.raises(PlanLimitReached):
        meter_consume(alpha.nation, "sms", 1)  # 0 texts a month on Starter
    meter_increment(alpha.nation, "emails", 3)  # counting what was sent anyway never refuses
    assert meter_value(alpha.nation, "emails") == 3


def test_staff_invitation_beyond_the_seats_is_refused(tiny):
    owner = client_for(tiny.host, tiny.owner, tiny.nation)
    form = {"email": "second@example.org", "role": "staff", "permissions": ["people.view"]}
    assert owner.post("/panel/settings/staff/", form).status_code == 302  # seat 2 of 2
    refused = owner.post("/panel/settings/staff/", {**form, "email": "third@example.org"})
    assert refused.status_code == 200
    assert "2 staff seats" in refused.content.decode()
    assert not User.objects.filter(email="third@example.org").exists()
    # Changing the role of someone already on the staff takes no new seat.
    again = owner.post("/panel/settings/staff/", {**form, "role": "admin"})
    assert again.status_code == 302
    assert (
        Membership.objects.get(nation=tiny.nation, user__email="second@example.org").role == "admin"
    )


def test_custom_domain_beyond_the_limit_is_refused(tiny):
    domain_add(nation=tiny.nation, hostname="www.first-domain.org")
    with pytest.raises(DomainError) as raised:
        domain_add(nation=tiny.nation, hostname="www.second-domain.org")
    assert "1 custom domains" in str(raised.value)


def test_unlimited_limits_never_refuse(alpha):
    Subscription.objects.filter(nation=alpha.nation).update(plan=Plan.objects.get(code="nation"))
    ensure_within(alpha.nation, "staff", adding=10_000)
    ensure_within(alpha.nation, "domains", adding=10_000)
    with pytest.raises(ValueError):
        ensure_within(alpha.nation, "bananas")


def test_the_message_speaks_the_users_language(tiny):
    with pytest.raises(PlanLimitReached) as raised:
        ensure_within(tiny.nation, "people", adding=10)
    with translation.override("fr"):
        assert "Votre formule Tiny autorise 3 personnes" in str(raised.value)
