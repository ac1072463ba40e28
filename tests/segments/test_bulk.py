"""Bulk tag/untag and add-to-list run in a real Celery worker, in id-ordered batches, with a
job whose progress reaches 100% and a timeline entry for everyone changed.

The worker has its own database connection, so this test commits its rows (in alpha's schema)
and removes them at the end instead of relying on the rolled-back `db` transaction."""

from __future__ import annotations

import time

import pytest
from django_tenants.utils import schema_context

from config.tasks import enqueue
from nations.jobs.actions import job_create
from nations.jobs.models import Job
from nations.people import tasks
from nations.people.models import Activity, PeopleList, Person, Tag, Tagging
from tests.config.test_tasks import worker  # noqa: F401 - the real worker fixture

SIZE = 230


def wait_for(job_id: int, timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.is_finished:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {Job.objects.get(pk=job_id).__dict__}")


@pytest.fixture
def crowd(world, django_db_blocker, monkeypatch):
    monkeypatch.setattr(tasks, "BULK_BATCH", 50)  # several batches, each committed
    with django_db_blocker.unblock(), schema_context(world.alpha.nation.schema_name):
        people = Person.objects.bulk_create(
            Person(
                first_name=f"Bulk{i}", city="Nantes" if i % 2 else "Brest", email=f"b{i}@bulk.test"
            )
            for i in range(SIZE)
        )
        crew = PeopleList.objects.create(name="Bulk crew")
        try:
            yield world.alpha, people, crew
        finally:
            ids = [p.pk for p in people]
            Activity.objects.filter(person_id__in=ids).delete()
            Person.objects.filter(pk__in=ids).delete()
            crew.delete()
            Tag.objects.filter(name__startswith="bulk-").delete()
            Job.objects.filter(kind__startswith="people.bulk").delete()


def run(source, action, target, title="bulk") -> Job:
    job = job_create(kind=f"people.bulk_{action}", title=title)
    enqueue(tasks.bulk_apply, job.pk, source, action, target, None, "Tester")  # autocommit: now
    return wait_for(job.pk)


def test_bulk_tag_untag_and_list_a_segment_in_a_real_worker(crowd, worker):  # noqa: F811
    alpha, people, crew = crowd
    nantes = {"definition": {"conditions": [{"field": "city", "op": "eq", "value": "Nantes"}]}}
    expected = {p.pk for p in people if p.city == "Nantes"}

    job = run(nantes, "tag", "bulk-nantes")
    assert (job.status, job.percent, job.done, job.total) == (
        "done",
        100,
        len(expected),
        len(expected),
    )
    tagged = set(
        Tagging.objects.filter(tag__name="bulk-nantes").values_list("person_id", flat=True)
    )
    assert tagged == expected
    entries = Activity.objects.filter(kind="tagged", summary="bulk-nantes")
    assert set(entries.values_list("person_id", flat=True)) == expected
    assert set(entries.values_list("actor_name", flat=True)) == {"Tester"}

    again = run(nantes, "tag", "bulk-nantes")  # idempotent: nobody changes twice
    assert again.result == {"changed": 0} and entries.count() == len(expected)

    some = sorted(expected)[:7]
    job = run({"people": some}, "untag", "bulk-nantes")
    assert job.result == {"changed": 7}
    assert Tagging.objects.filter(tag__name="bulk-nantes").count() == len(expected) - 7
    assert Activity.objects.filter(kind="untagged", person_id__in=some).count() == 7

    job = run(nantes, "list", crew.pk)
    assert (
        job.status == "done"
        and set(crew.memberships.values_list("person_id", flat=True)) == expected
    )
    assert Activity.objects.filter(kind="listed", summary="Bulk crew").count() == len(expected)
    job = run({"list": crew.pk}, "tag", "bulk-crew")
    assert Tagging.objects.filter(tag__name="bulk-crew").count() == len(expected)
    job = run({"list": crew.pk}, "unlist", crew.pk)
    assert job.result == {"changed": len(expected)} and not crew.memberships.exists()

    broken = run({"definition": {"conditions": [{"field": "nope", "op": "eq"}]}}, "tag", "bulk-x")
    assert broken.status == "failed" and "Unknown field" in broken.message
    gone = run(nantes, "list", 999999)
    assert gone.status == "failed"
