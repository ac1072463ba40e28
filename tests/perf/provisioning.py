"""A nation's schema two ways: cloned from the template (what signup does) or migrated."""

from __future__ import annotations

import time

from django.core.management import call_command
from django.db import connection, transaction

from tenants.provisioning import clone_template, drop_schema, template_schema

from .report import Report, percentile, summary_ms


def template_size() -> dict[str, int]:
    """How much there is to copy or to migrate: the template's tables and applied migrations."""
    schema = template_schema()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema])
        tables = cursor.fetchone()[0]
        # The schema name is a setting, not user input.
        cursor.execute(f'SELECT count(*) FROM "{schema}".django_migrations')  # noqa: S608
        migrations = cursor.fetchone()[0]
    return {"template_tables": tables, "tenant_migrations": migrations}


def clone_once(schema: str) -> float:
    started = time.perf_counter()
    with transaction.atomic():  # the signup's transaction: BEGIN, clone, COMMIT
        clone_template(schema)
    elapsed = time.perf_counter() - started
    drop_schema(schema)
    return elapsed


def bench_clone(report: Report, *, runs: int = 20) -> None:
    # The first clone in a process reads the template's catalog to build the clone script;
    # every later one reuses it (tenants.provisioning._script_cache). Reported, not counted.
    first = clone_once("bench_clone_warmup")
    samples = [clone_once(f"bench_clone_{i}") for i in range(runs)]
    context = {
        **summary_ms(samples),
        "first_in_process_ms": round(first * 1000, 1),
        **template_size(),
        "what": "CREATE SCHEMA + clone script + COMMIT, template -> fresh schema",
    }
    report.add("provision_clone_p50", percentile(samples, 50) * 1000, "ms", **context)
    report.add("provision_clone_p95", percentile(samples, 95) * 1000, "ms", **context)


def _migrate_once(schema: str) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    call_command("migrate_schemas", tenant=True, schema_name=schema, interactive=False, verbosity=0)
    elapsed = time.perf_counter() - started
    drop_schema(schema)
    return elapsed


def bench_migrate(report: Report, *, runs: int = 3) -> None:
    samples = [_migrate_once(f"bench_migrate_{i}") for i in range(runs)]
    report.add(
        "provision_migrate_p50",
        percentile(samples, 50) * 1000,
        "ms",
        **summary_ms(samples),
        **template_size(),
        what="CREATE SCHEMA + migrate_schemas --tenant --schema <name> (every migration)",
    )
