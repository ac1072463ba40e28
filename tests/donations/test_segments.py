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
        amount=1000,
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
