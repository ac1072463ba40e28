"""`migrate_schemas` with nothing to apply, across a fleet of nations: the cost of every deploy."""

from __future__ import annotations

import time

from django.core.management import call_command
from django.db import connection

from tenants.actions import nation_create
from tenants.models import Nation, User

from .provisioning import clone_once
from .report import Report, percentile, summary_ms


def grow_fleet(size: int) -> list[float]:
    """Create nations through nation_create (one shared owner) until `size` exist."""
    owner = User.objects.filter(email="fleet-owner@bench.example").first()
    if owner is None:
        owner = User.objects.create_user(
            email="fleet-owner@bench.example", password=None, full_name="Fleet Owner"
        )
    existing = Nation.objects.exclude(schema_name="public").count()
    durations = []
    for index in range(existing, size):
        started = time.perf_counter()
        nation_create(
            name=f"Fleet {index}",
            slug=f"fleet-{index:04d}",
            country="FR",
            language="en",
            owner=owner,
        )
        durations.append(time.perf_counter() - started)
    return durations


def bench_noop_migrate(report: Report, *, nations: int = 200) -> None:
    created = grow_fleet(nations)
    count = Nation.objects.exclude(schema_name="public").count()
    started = time.perf_counter()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    elapsed = time.perf_counter() - started
    connection.set_schema_to_public()
    context = {
        "nations": count,
        # public, every nation, and the template (tenants' migrate_schemas keeps it migrated)
        "schemas_visited": count + 2,
        "per_nation_ms": round(elapsed * 1000 / count, 1),
        "executor": "standard (django-tenants default: one schema after another, one process)",
        "fleet_built_with": {"nation_create": summary_ms(created)} if created else {},
    }
    report.add("migrate_schemas_200_noop", elapsed, "s", **context)
    report.add("migrate_schemas_noop_per_nation", elapsed * 1000 / count, "ms", nations=count)


def bench_clone_in_fleet(report: Report, *, runs: int = 20) -> None:
    """The clone again, now that the catalog holds every nation's tables: does it slow down?"""
    count = Nation.objects.exclude(schema_name="public").count()
    samples = [clone_once(f"bench_fleet_clone_{i}") for i in range(runs)]
    report.add(
        "provision_clone_in_fleet_p50",
        percentile(samples, 50) * 1000,
        "ms",
        nations=count,
        **summary_ms(samples),
    )
