"""Segments that need the donations table: a gift in a period (EXISTS on donations)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nations.donations.models import Donation
from nations.people.filters import FilterError, segment_people
from nations.people.models import Person

from .conftest import in_schema

pytestmark = pytest.mark.django_db


def _gift(person, when, **extra):
    return Donation.objects.create(
        person=person,
        amount=extra.pop("amount", 1000),
        currency="EUR",
        status=extra.pop("status", "paid"),
        email=person.email,
        first_name="x",
        last_name="y",
        paid_at=when,
        **extra,
    )


def test_donated_between_and_gift_at(alpha):
    with in_schema(alpha.nation):
        march = Person.objects.create(email="march@example.org")
        june = Person.objects.create(email="june@example.org")
        refunded = Person.objects.create(email="refunded@example.org")
        lost = Person.objects.create(email="lost@example.org")
        _gift(march, datetime(2025, 3, 10, tzinfo=UTC))
        _gift(june, datetime(2025, 6, 1, tzinfo=UTC))
        _gift(refunded, datetime(2025, 3, 12, tzinfo=UTC), status="refunded", refunded_amount=1000)
        _gift(lost, datetime(2025, 3, 12, tzinfo=UTC), dispute="lost")

        def emails(definition):
            return set(segment_people(definition).values_list("email", flat=True))

        spring = {
            "conditions": [
                {"field": "donated_between", "op": "between", "value": ["2025-03-01", "2025-03-31"]}
            ]
        }
        assert emails(spring) == {"march@example.org"}
        after = {"conditions": [{"field": "gift_at", "op": "after", "value": "2025-04-01"}]}
        assert emails(after) == {"june@example.org"}
        none = {"negate": True, "conditions": spring["conditions"]}
        assert "march@example.org" not in emails(none) and "june@example.org" in emails(none)
        with pytest.raises(FilterError):
            segment_people(
                {
                    "conditions": [
                        {"field": "donated_between", "op": "between", "value": ["2025-03-01"]}
                    ]
                }
            ).count()


def test_total_given_in_a_period(alpha):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    with in_schema(alpha.nation):
        regular = Person.objects.create(email="regular@example.org")
        lapsed = Person.objects.create(email="lapsed@example.org")
        never = Person.objects.create(email="never@example.org")
        _gift(regular, now, amount=3000)
        _gift(regular, now, amount=2500, status="refunded", refunded_amount=1000)  # 15 kept
        _gift(regular, now, amount=9900, dispute="lost")  # not counted
        _gift(lapsed, now - timedelta(days=800), amount=50000)

        def emails(field, op, value):
            definition = {"conditions": [{"field": field, "op": op, "value": value}]}
            people = segment_people(definition).filter(email__endswith="@example.org")
            return set(people.values_list("email", flat=True))

        assert emails("given_12_months", "gte", "45") == {"regular@example.org"}
        assert emails("given_12_months", "gte", "45.01") == set()
        assert emails("given_12_months", "eq", "45") == {"regular@example.org"}
        assert emails("given_12_months", "lte", "0") == {lapsed.email, never.email}
        assert emails("given_this_year", "neq", "0") == {"regular@example.org"}
        with pytest.raises(FilterError):
            segment_people(
                {"conditions": [{"field": "given_12_months", "op": "gte", "value": "lots"}]}
            ).count()
