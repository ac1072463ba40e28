"""A million people in one nation: generation time, 3-filter segment counts, search.

`python -m tests.perf --only people` (PEOPLE_BENCH_SIZE overrides the million)."""

from __future__ import annotations

import os
import random
import time

from django.db import connection
from django_tenants.utils import schema_context

from tenants.provisioning import clone_template, drop_schema

from .people_data import TAGS, generate_people
from .report import Report, percentile, summary_ms

SCHEMA = "bench_people"
RUNS = 50
POSTAL_PREFIXES = ("75", "69", "13", "31", "44", "59", "33", "67", "35", "34", "06", "93", "750")
CONSENTS = ("granted", "withdrawn", "unknown")
QUERIES = (
    "helene dupond",  # typo and no accent: Hélène Dupont
    "Hélène Dupont",
    "jerome lefevre",
    "francois girard",
    "camille martin",
    "oliver smith",
    "cecile moreau",
    "stephane lefebre",
    "dupont",
    "gaelle",
    "nathalie bonet",
    "martin",
    "06 00 01 23 45",
    "+33700012346",
    "lea.roux",
    "thomas.bernard12@gmail.com",
    "benoit fontaine",
    "zoe chevallier",
    "louise leclerc",
    "amelie rousseau",
)


def _three_filters(rng: random.Random) -> dict:
    tags = rng.sample([t for t, _share in TAGS], rng.choice((1, 1, 2)))
    return {
        "match": "all",
        "conditions": [
            {"field": "tags", "op": "any", "value": tags},
            {"field": "postal_code", "op": "startswith", "value": rng.choice(POSTAL_PREFIXES)},
            {"field": "email_consent", "op": "eq", "value": rng.choice(CONSENTS)},
        ],
    }


def bench_people(report: Report) -> None:
    from nations.people.filters import segment_count, segment_people
    from nations.people.selectors import people_search

    size = int(os.environ.get("PEOPLE_BENCH_SIZE", "1000000"))
    drop_schema(SCHEMA)
    clone_template(SCHEMA)
    try:
        started = time.perf_counter()
        generate_people(SCHEMA, size, seed=1)
        elapsed = time.perf_counter() - started
        report.add(
            "people_generate_1m" if size == 1_000_000 else f"people_generate_{size}",
            elapsed,
            "s",
            people=size,
            what="COPY people + rebuild indexes + tags/lists/emails/phones + ANALYZE",
        )
        with schema_context(SCHEMA):
            rng = random.Random(7)  # noqa: S311 - reproducible benchmark inputs
            definitions = [_three_filters(rng) for _ in range(RUNS)]
            segment_count(definitions[0])  # warm the cache and the plan once, not counted
            samples, counts = [], []
            for definition in definitions:
                t = time.perf_counter()
                counts.append(segment_count(definition))
                samples.append(time.perf_counter() - t)
            with connection.cursor() as cursor:
                sql, params = (
                    segment_people(definitions[0]).order_by().values("id").query.sql_with_params()
                )
                cursor.execute(f"EXPLAIN SELECT count(*) FROM ({sql}) s", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            context = {
                **summary_ms(samples),
                "people": size,
                "matches_min": min(counts),
                "matches_max": max(counts),
                "what": "segment_count: tags any + postal-code prefix + email consent",
                "plan": plan,
            }
            report.add(
                "segment_count_3_filters_p50", percentile(samples, 50) * 1000, "ms", **context
            )
            report.add(
                "segment_count_3_filters_p95", percentile(samples, 95) * 1000, "ms", **context
            )

            queries = [QUERIES[i % len(QUERIES)] for i in range(RUNS)]
            list(people_search(queries[0])[:50])
            samples, found = [], {}
            for query in queries:
                t = time.perf_counter()
                page = list(people_search(query)[:50])
                samples.append(time.perf_counter() - t)
                found[query] = len(page)
            context = {
                **summary_ms(samples),
                "people": size,
                "what": "people_search(query)[:50], realistic, accent-free and typo queries",
                "results_per_query": found,
            }
            report.add("people_search_1m_p50", percentile(samples, 50) * 1000, "ms", **context)
            report.add("people_search_1m_p95", percentile(samples, 95) * 1000, "ms", **context)
    finally:
        if not os.environ.get("PEOPLE_BENCH_KEEP"):
            drop_schema(SCHEMA)
