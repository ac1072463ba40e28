"""The benchmark's people generator: realistic rows whose search text is what the app computes."""

from __future__ import annotations

import pytest
from django.db.models import Count
from django_tenants.utils import schema_context

from nations.people.models import Person, PersonEmail, Tagging
from nations.people.normalise import search_text
from nations.people.selectors import people_search
from tests.perf.people_data import generate_people

pytestmark = pytest.mark.django_db


def test_generated_people_are_realistic_and_searchable(alpha):
    generate_people(alpha.nation.schema_name, 2000, seed=3)
    with schema_context(alpha.nation.schema_name):
        people = Person.objects.exclude(email__endswith="@private.example")
        assert people.count() == 2000
        for person in people[:300]:
            expected = search_text(
                first_name=person.first_name,
                last_name=person.last_name,
                emails=[person.email] if person.email else [],
                phones=[person.phone] if person.phone else [],
            )
            assert person.search_text == expected
        assert people.filter(country="FR").count() > 1000
        assert people.filter(email_consent="granted").count() > 600
        assert people.filter(donations_count__gt=0).count() > 100
        counts = dict(
            Tagging.objects.values_list("tag__name")
            .annotate(n=Count("id"))
            .values_list("tag__name", "n")
        )
        assert counts["newsletter"] > counts["volunteer"] > counts["member"] > counts.get("vip", 0)
        assert (
            PersonEmail.objects.filter(person__in=people).count()
            == people.exclude(email="").count()
        )
        someone = people.exclude(first_name="").filter(first_name__contains="é").first()
        assert someone in people_search(someone.search_text.split()[0].replace("e", "e"))
