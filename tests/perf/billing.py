"""Billing on hot paths: a limit check as a blast or an import makes it, and the monthly meter
incremented from many threads at once (the total must be exact)."""

from __future__ import annotations

import statistics
import threading
import time

from django.db import connections

from .report import Report

THREADS = 8
PER_THREAD = 400


def _nation():
    from tenants.actions import Owner, nation_create
    from tenants.models import Nation

    nation = Nation.objects.filter(slug="bench-billing").first()
    if nation is None:
        nation = nation_create(
            name="Bench Billing",
            slug="bench-billing",
            country="FR",
            language="en",
            owner=Owner(full_name="B", email="bench-billing@example.org", password="x" * 12),
        )
    return nation


def bench_billing(report: Report) -> None:
    from billing.limits import ensure_within
    from billing.meters import meter_increment, meter_value
    from billing.models import UsageMeter

    nation = _nation()
    UsageMeter.objects.filter(nation=nation).delete()

    # limit_check_us: ensure_within(nation, "emails", adding=1) as a sender calls it per batch.
    for _ in range(200):  # warm the plan cache and the connection
        ensure_within(nation, "emails", adding=1)
    rounds = []
    for _ in range(5):
        n = 2000
        started = time.perf_counter()
        for _ in range(n):
            ensure_within(nation, "emails", adding=1)
        rounds.append((time.perf_counter() - started) / n * 1e6)
    report.add(
        "limit_check_us",
        statistics.median(rounds),
        "us",
        rounds_us=[round(r, 1) for r in rounds],
        calls_per_round=2000,
        what='ensure_within(nation, "emails", adding=1): cached plan + one indexed SELECT',
    )
    people = []
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(500):
            ensure_within(nation, "people", adding=1)
        people.append((time.perf_counter() - started) / 500 * 1e6)
    report.add(
        "limit_check_people_us",
        statistics.median(people),
        "us",
        what="ensure_within(nation, 'people'): count(*) of an empty people table",
    )

    # meter_increment_concurrent: THREADS threads, each its own connection, same meter row.
    before = meter_value(nation, "emails")
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def worker():
        try:
            barrier.wait()
            for _ in range(PER_THREAD):
                meter_increment(nation, "emails", 1)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    total = meter_value(nation, "emails") - before
    expected = THREADS * PER_THREAD
    if total != expected:
        raise AssertionError(f"meter lost increments: {total} != {expected}")
    report.add(
        "meter_increment_concurrent",
        expected / elapsed,
        "increments/s",
        threads=THREADS,
        increments=expected,
        total_exact=total == expected,
        what="INSERT … ON CONFLICT DO UPDATE used = used + 1 on one row, autocommit",
    )
