"""Merging two people who each have 100 related rows (emails, phones, tags, lists, notes, calls,
consent history, timeline): what a click on "Merge" costs.

`python -m tests.perf --only merge`"""

from __future__ import annotations

import time

from django.db import transaction
from django_tenants.utils import schema_context

from tenants.provisioning import clone_template, drop_schema

from .report import Report, percentile, summary_ms

SCHEMA = "bench_merge"
RUNS = 30
# Per person: 100 rows pointing at them, some shared with the other (dropped as duplicates).
SHAPE = {
    "emails": 10,
    "phones": 5,
    "tags": 20,
    "lists": 10,
    "notes": 15,
    "calls": 10,
    "consents": 10,
    "activities": 20,
}


def _person_with_rows(index: int, label: str, tags, lists):
    from nations.people.models import (
        Activity,
        ConsentChange,
        ContactLog,
        ListMembership,
        Note,
        Person,
        PersonEmail,
        PersonPhone,
        Tagging,
    )
    from nations.people.normalise import search_text

    email = f"{label}{index}@bench.example"
    person = Person.objects.create(
        first_name=f"Bench{label}",
        last_name=f"Person{index}",
        email=email,
        search_text=search_text(first_name=f"Bench{label}", emails=[email]),
    )
    PersonEmail.objects.bulk_create(
        [
            PersonEmail(
                person=person, address=f"{label}{index}.{n}@bench.example", is_primary=n == 0
            )
            for n in range(SHAPE["emails"] - 1)
        ]
        + [PersonEmail(person=person, address=f"shared{index}@bench.example")]
    )
    PersonPhone.objects.bulk_create(
        [
            PersonPhone(person=person, number=f"+336{index % 100:02d}{n:06d}{label == 'b':d}"[:12])
            for n in range(SHAPE["phones"])
        ]
    )
    # Tags 0-4 are on both people: duplicates the merge drops.
    offset = 0 if label == "a" else 15
    Tagging.objects.bulk_create(
        [Tagging(person=person, tag=t) for t in tags[offset : offset + SHAPE["tags"]]]
    )
    offset = 0 if label == "a" else 7
    ListMembership.objects.bulk_create(
        [
            ListMembership(person=person, people_list=p)
            for p in lists[offset : offset + SHAPE["lists"]]
        ]
    )
    Note.objects.bulk_create([Note(person=person, body=f"note {n}") for n in range(SHAPE["notes"])])
    ContactLog.objects.bulk_create(
        [ContactLog(person=person, method="call", outcome="reached") for _ in range(SHAPE["calls"])]
    )
    ConsentChange.objects.bulk_create(
        [
            ConsentChange(person=person, channel="email", status="granted", source="bench")
            for _ in range(SHAPE["consents"])
        ]
    )
    Activity.objects.bulk_create(
        [
            Activity(person=person, kind="signed", summary="petition")
            for _ in range(SHAPE["activities"])
        ]
    )
    return person


def bench_merge(report: Report) -> None:
    from nations.people.actions import person_merge
    from nations.people.models import PeopleList, Person, Tag

    assert sum(SHAPE.values()) == 100
    drop_schema(SCHEMA)
    with transaction.atomic():
        clone_template(SCHEMA)
    try:
        with schema_context(SCHEMA):
            tags = [Tag.objects.create(name=f"tag{n}") for n in range(40)]
            lists = [PeopleList.objects.create(name=f"list{n}") for n in range(20)]
            samples = []
            for index in range(RUNS + 1):
                a = _person_with_rows(index, "a", tags, lists)
                b = _person_with_rows(index, "b", tags, lists)
                started = time.perf_counter()
                survivor = person_merge(survivor=a, other=b)
                elapsed = time.perf_counter() - started
                if index:  # the first one warms caches (model metadata, plans)
                    samples.append(elapsed)
                assert not Person.objects.filter(pk=b.pk).exists()
                assert survivor.taggings.count() == 35 and survivor.emails.count() == 19
    finally:
        drop_schema(SCHEMA)
    report.add(
        "merge_100_related_ms",
        percentile(samples, 50) * 1000,
        "ms",
        p95_ms=round(percentile(samples, 95) * 1000, 1),
        **summary_ms(samples),
        what="person_merge of two people with 100 related rows each (8 tables), p50",
    )
