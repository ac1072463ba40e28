"""A crash mid-import: what was committed stays, whole chunks only, and the import resumes from
the first row that was not committed, without applying any row twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone
from django_tenants.utils import schema_context

from nations.imports import actions
from nations.imports.actions import import_can_resume, import_create, import_run
from nations.imports.columns import suggest_mapping
from nations.imports.models import Import
from nations.people.actions import Actor
from nations.people.models import Activity, Person

from .conftest import upload_file

pytestmark = pytest.mark.django_db

ROWS = "first_name,email,tags\n" + "".join(
    f"{'CRASH' if i == 5 else 'P' + str(i)},p{i}@resume.fr,t\n" for i in range(1, 10)
)


def started(nation) -> Import:
    with schema_context(nation.schema_name):
        people_import = import_create(upload=upload_file("r.csv", ROWS.encode()), actor=Actor())
        people_import.mapping = suggest_mapping(people_import.headers)
        people_import.status = "running"
        people_import.save()
        return people_import


def test_a_chunk_that_fails_in_the_database_is_rolled_back_whole_and_resumed(
    alpha, owner, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(actions, "CHUNK_ROWS", 3)
    people_import = started(alpha.nation)
    with schema_context(alpha.nation.schema_name):
        with connection.cursor() as cursor:  # a real constraint the 5th row breaks
            cursor.execute(
                "ALTER TABLE people_person ADD CONSTRAINT no_crash CHECK (first_name <> 'CRASH')"
            )
        with pytest.raises(IntegrityError):
            import_run(people_import.pk)
        people_import.refresh_from_db()
        assert people_import.status == "failed" and "no_crash" in people_import.error
        assert people_import.offset == 3 and people_import.created == 3
        # Rows 4-6 (the failed chunk) left nothing behind: no person, tag or timeline entry.
        emails = set(
            Person.objects.filter(email__endswith="@resume.fr").values_list("email", flat=True)
        )
        assert emails == {"p1@resume.fr", "p2@resume.fr", "p3@resume.fr"}
        assert Activity.objects.filter(person__email="p4@resume.fr").count() == 0
        with connection.cursor() as cursor:
            # (the test's transaction holds deferred foreign-key checks; flush them first)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE people_person DROP CONSTRAINT no_crash")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    page = owner.get(f"/panel/people/imports/{people_import.pk}/").content.decode()
    assert "Resume the import" in page and "Everything before line 5 is imported" in page
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner.post(f"/panel/people/imports/{people_import.pk}/resume/")
    assert response.status_code == 302 and len(callbacks) == 1
    with schema_context(alpha.nation.schema_name):
        Import.objects.filter(pk=people_import.pk).update(status="running")
        done = import_run(people_import.pk)
        assert (done.status, done.offset, done.created, done.rejected) == ("done", 9, 9, 0)
        assert Person.objects.filter(email__endswith="@resume.fr").count() == 9
        assert (
            Activity.objects.filter(kind="imported", person__email__endswith="@resume.fr").count()
            == 9
        )
        assert Person.objects.get(email="p5@resume.fr").first_name == "CRASH"


def test_a_worker_that_died_can_be_resumed_once_silent(alpha, monkeypatch):
    monkeypatch.setattr(actions, "CHUNK_ROWS", 4)
    people_import = started(alpha.nation)
    with schema_context(alpha.nation.schema_name):
        import_run(people_import.pk, max_chunks=1)  # the worker stops after one chunk
        people_import.refresh_from_db()
        assert (people_import.status, people_import.offset) == ("running", 4)
        assert not import_can_resume(people_import)  # it may still be alive
        with pytest.raises(actions.ImportNotReady):
            actions.import_resume(people_import=people_import)
        Import.objects.filter(pk=people_import.pk).update(
            heartbeat_at=timezone.now() - timedelta(minutes=5)
        )
        people_import.refresh_from_db()
        assert import_can_resume(people_import)
        actions.import_resume(people_import=people_import)
        Import.objects.filter(pk=people_import.pk).update(status="running")
        done = import_run(people_import.pk)
        assert (done.status, done.created, done.rejected) == ("done", 9, 0)
        assert Person.objects.filter(email__endswith="@resume.fr").count() == 9


def test_a_second_worker_on_the_same_import_applies_nothing_twice(alpha, monkeypatch):
    monkeypatch.setattr(actions, "CHUNK_ROWS", 4)
    people_import = started(alpha.nation)
    with schema_context(alpha.nation.schema_name):
        import_run(people_import.pk, max_chunks=1)
        chunks = actions._chunks(
            actions.default_storage.path(people_import.file),
            actions.sniffed_of(people_import),
            skip=0,
        )
        stale = next(chunks)  # a worker that still believes the import is at row 0
        with pytest.raises(actions.ImportNotReady):
            actions._apply(people_import.pk, stale)
        assert Person.objects.filter(email__endswith="@resume.fr").count() == 4
