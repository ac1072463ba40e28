"""`make run` seeds the demo nation with realistic people, once."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_context

from nations.people.models import Activity, Person, PersonEmail, Tagging
from nations.people.selectors import people_search
from tenants.models import Nation

pytestmark = pytest.mark.django_db


def test_seed_demo_fills_the_demo_nation_once(world):
    call_command("seed_demo", people=3000)
    nation = Nation.objects.get(slug="demo")
    with schema_context(nation.schema_name):
        assert Person.objects.count() == 3005
        assert not Person.objects.filter(search_text="").exists()
        assert PersonEmail.objects.filter(is_primary=True).count() == 3005
        assert Tagging.objects.exists() and Activity.objects.count() > 6000
        assert {"FR", "GB", "BE"} <= set(Person.objects.values_list("country", flat=True))
        assert Person.objects.filter(last_activity_at__isnull=True).count() == 0
        first = Person.objects.filter(external_id="demo-00000").get()
        assert people_search(first.first_name).filter(pk=first.pk).exists()
    call_command("seed_demo", people=3000)
    with schema_context(nation.schema_name):
        assert Person.objects.count() == 3005
