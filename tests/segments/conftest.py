"""A small cast of people in alpha, each with distinct properties, so every filter can be
asserted by who it matches (not merely how many)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from nations.people.actions import person_tag
from nations.people.models import (
    CustomField,
    ListMembership,
    PeopleList,
    Person,
)

DOMAIN = "@cast.test"
CAST = ("Arnaud", "Bernard", "Clarke", "Dupont")


def _at(year: int, month: int = 1, day: int = 1):
    return timezone.make_aware(timezone.datetime(year, month, day, 12, 0))


@pytest.fixture
def cast(alpha):
    """Ann, Bob, Cat and Dan in alpha's schema (the test stays in that schema)."""
    with schema_context(alpha.nation.schema_name):
        now = timezone.now()
        CustomField.objects.create(
            slug="shirt", label="Shirt size", kind="choice", choices=["S", "M", "L"]
        )
        CustomField.objects.create(slug="age", label="Age", kind="number")
        CustomField.objects.create(slug="joined", label="Joined", kind="date")
        CustomField.objects.create(slug="team", label="Team", kind="text")
        people = {
            "ann": Person.objects.create(
                first_name="Ann",
                last_name="Arnaud",
                email="ann" + DOMAIN,
                phone="+33612345601",
                country="FR",
                city="Paris",
                postal_code="75011",
                region="IDF",
                language="fr",
                support_level=5,
                employer="Mairie",
                occupation="Teacher",
                points=10,
                birthdate=date(1990, 1, 1),
                created_at=_at(2020),
                updated_at=now - timedelta(days=2),
                last_activity_at=now - timedelta(days=5),
                donations_count=2,
                donations_total=15000,
                last_donation_at=now - timedelta(days=10),
                email_consent="granted",
                sms_consent="withdrawn",
                phone_consent="granted",
                post_consent="unknown",
                custom={"shirt": "L", "age": 30, "joined": "2021-05-01", "team": "Red Rockets"},
            ),
            "bob": Person.objects.create(
                first_name="Bob",
                last_name="Bernard",
                email="bob" + DOMAIN,
                country="FR",
                city="Lyon",
                postal_code="69003",
                language="en",
                support_level=2,
                points=0,
                birthdate=date(1960, 6, 1),
                created_at=_at(2023, 6),
                updated_at=_at(2023, 7),
                last_activity_at=now - timedelta(days=200),
                email_consent="unknown",
                sms_consent="granted",
                custom={"shirt": "M", "age": 50},
            ),
            "cat": Person.objects.create(
                first_name="Cat",
                last_name="Clarke",
                phone="+447700900123",
                country="GB",
                city="London",
                postal_code="SW1A1AA",
                language="en",
                created_at=_at(2024),
                updated_at=_at(2024),
                donations_count=1,
                donations_total=500,
                last_donation_at=now - timedelta(days=400),
                email_consent="withdrawn",
                post_consent="granted",
                custom={"team": "Blue"},
            ),
            "dan": Person.objects.create(
                first_name="Dan",
                last_name="Dupont",
                email="dan" + DOMAIN,
                country="FR",
                city="Paris",
                postal_code="75001",
                language="fr",
                support_level=4,
                created_at=_at(2022),
                updated_at=_at(2022),
                email_consent="granted",
            ),
            # Erased people are in no segment, whatever they once matched.
            "eve": Person.objects.create(
                first_name="",
                last_name="",
                email="",
                city="Paris",
                postal_code="75011",
                country="FR",
                is_erased=True,
                email_consent="granted",
                created_at=_at(2021),
            ),
        }
        person_tag(person=people["ann"], names=["volunteer", "donor"])
        person_tag(person=people["bob"], names=["volunteer"])
        person_tag(person=people["dan"], names=["donor", "press"])
        person_tag(person=people["eve"], names=["volunteer"])
        # (tagging is activity: put the last-activity dates back where the cast needs them)
        for key in ("ann", "bob", "cat", "dan", "eve"):
            Person.objects.filter(pk=people[key].pk).update(
                last_activity_at=people[key].last_activity_at
            )
        board = PeopleList.objects.create(name="Board")
        phonebank = PeopleList.objects.create(name="Phone bank")
        ListMembership.objects.create(people_list=board, person=people["ann"])
        ListMembership.objects.create(people_list=phonebank, person=people["cat"])
        ListMembership.objects.create(people_list=phonebank, person=people["bob"])
        people["board"], people["phonebank"] = board, phonebank
        yield people


def names(queryset) -> set[str]:
    """Who of the cast a queryset holds (alpha's marker person is not part of the cast)."""
    found = queryset.filter(last_name__in=CAST).values_list("first_name", flat=True)
    return {name.lower() for name in found}
