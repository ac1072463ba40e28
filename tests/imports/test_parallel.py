"""Chunks applied by two connections at once (IMPORT_APPLIERS = 2) commit in file order: the
result is the one of a single connection, a failure leaves every chunk before it committed
and none after, and two workers never run one import.

Other connections cannot see a test's own transaction, so these tests commit: each gets two
fresh nations, dropped at the end."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import IntegrityError, connection, connections
from django_tenants.utils import schema_context

from nations.imports import actions
from nations.imports.actions import ImportNotReady, import_create, import_run
from nations.imports.columns import suggest_mapping
from nations.imports.models import Import
from nations.people.actions import Actor, person_email_add, person_upsert
from nations.people.models import Activity, Person, Tag
from tenants.models import Membership, Nation, User
from tenants.provisioning import drop_schema
from tests.conftest import _make_nation

from .conftest import run_file, upload_file


@pytest.fixture
def nations(django_db_setup, django_db_blocker):
    """Two committed nations; the database is open to the test (no wrapping transaction)."""
    with django_db_blocker.unblock():
        made = [_make_nation(f"par{uuid.uuid4().hex[:8]}", markers=0) for _ in range(2)]
        try:
            yield [world.nation for world in made]
        finally:
            connection.set_schema_to_public()
            for world in made:
                drop_schema(world.nation.schema_name)
                Membership.objects.filter(nation=world.nation).delete()
                Nation.objects.filter(pk=world.nation.pk).delete()
                User.objects.filter(pk__in=[world.owner.pk, world.staff.pk]).delete()


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(actions, "CHUNK_ROWS", 4)


def _reasons(done: Import) -> dict[int, str]:
    return done.reasons


def test_a_key_of_the_previous_chunk_is_a_duplicate_with_its_line(nations, small_chunks, settings):
    settings.IMPORT_APPLIERS = 2
    text = "email,email2,first_name,external_id\n" + "".join(
        f"{e},{e2},{n},{x}\n"
        for e, e2, n, x in [
            ("a@nb.fr", "a2@nb.fr", "A", "x1"),  # line 2, chunk 1
            ("b@nb.fr", "", "B", ""),
            ("c@nb.fr", "", "C", ""),
            ("d@nb.fr", "", "D", ""),
            ("B@nb.fr", "", "B again", ""),  # line 6, chunk 2: same email as line 3
            ("a2@nb.fr", "", "A's second", ""),  # line 7: line 2's second address
            ("e@nb.fr", "", "E", "x1"),  # line 8: line 2's external id
            ("f@nb.fr", "", "F", ""),
            ("c@nb.fr", "", "C again", ""),  # line 10, chunk 3: two chunks away
        ]
    )
    done = run_file(nations[0], text.encode())
    assert _reasons(done) == {
        6: "duplicate: same email as line 3",
        7: "duplicate: same email as line 2",
        8: "duplicate: same external id as line 2",
        10: "duplicate: an earlier line of the file has the same email",
    }
    assert (done.status, done.offset, done.created) == ("done", 9, 5)
    with schema_context(nations[0].schema_name):
        assert Person.objects.get(email="b@nb.fr").first_name == "B"


def _busy_file(rows: int) -> str:
    """New people, people that exist (two of them by their second address in a neighbouring
    chunk), tags old and new, external ids, consent and notes."""
    lines = ["first_name,email,email2,phone,city,tags,external_id,email_opt_in,notes"]
    for i in range(rows):
        email = f"p{i}@eq.fr"
        if i == 5:
            email = "known1@eq.fr"
        elif i == 9:
            email = "known1-other@eq.fr"  # the same person as line 7, next chunk
        elif i == 13:
            email = "known2@eq.fr"
        tags = f"t{i % 3}, new{i // 6}"
        lines.append(
            f"P{i},{email},,06 12 34 {i // 10:02d} {i % 10}{i % 10},City{i % 4},"
            f'"{tags}",{"ext" + str(i) if i % 5 == 0 else ""},{"yes" if i % 2 else ""},'
            f"{'note ' + str(i) if i % 7 == 0 else ''}"
        )
    return "\n".join(lines) + "\n"


def _seed() -> None:
    first, _ = person_upsert(data={"first_name": "K1"}, email="known1@eq.fr", source="seed")
    person_email_add(person=first, address="known1-other@eq.fr")
    person_upsert(data={"last_name": "K2"}, email="known2@eq.fr", source="seed", tags=["t1"])


def _snapshot() -> list:
    people = []
    for p in Person.objects.prefetch_related("emails", "phones", "taggings__tag").order_by("email"):
        people.append(
            (
                p.email,
                p.first_name,
                p.last_name,
                p.city,
                p.external_id,
                p.email_consent,
                p.search_text,
                sorted(e.address for e in p.emails.all()),
                sorted(f.number for f in p.phones.all()),
                sorted(t.tag.name for t in p.taggings.all()),
                sorted(
                    (a.kind, a.summary, str(sorted((a.data or {}).get("changes", {}))))
                    for a in Activity.objects.filter(person=p)
                ),
            )
        )
    return people


def test_two_appliers_give_what_one_gives(nations, small_chunks, settings, caplog):
    caplog.set_level("INFO", logger="nations.imports.actions")
    results = []
    for nation, appliers in zip(nations, (1, 2), strict=True):
        settings.IMPORT_APPLIERS = appliers
        with schema_context(nation.schema_name):
            _seed()
        done = run_file(nation, _busy_file(40).encode())
        with schema_context(nation.schema_name):
            results.append(
                (
                    (done.status, done.offset, done.created, done.updated, done.rejected),
                    _reasons(done),
                    _snapshot(),
                    sorted(Tag.objects.values_list("name", flat=True)),
                )
            )
    assert results[0][0][:2] == ("done", 40)
    # Line 11 names, by their second address, the person line 7 (the chunk before) updated.
    assert results[0][1] == {11: "duplicate: an earlier line of the file has the same email"}
    assert results[1] == results[0]
    logged = caplog.text
    assert "chunks written by 1 connection(s)" in logged
    assert "chunks written by 2 connection(s)" in logged


def test_a_failing_chunk_stops_the_import_with_everything_before_it_committed(
    nations, small_chunks, settings
):
    settings.IMPORT_APPLIERS = 2
    nation = nations[0]
    rows = "first_name,email,tags\n" + "".join(
        f"{'CRASH' if i == 10 else 'P' + str(i)},p{i}@par.fr,t\n" for i in range(1, 21)
    )
    with schema_context(nation.schema_name):
        with connection.cursor() as cursor:  # a real constraint the 10th row breaks
            cursor.execute(
                "ALTER TABLE people_person ADD CONSTRAINT no_crash CHECK (first_name <> 'CRASH')"
            )
        people_import = import_create(upload=upload_file("r.csv", rows.encode()), actor=Actor())
        people_import.mapping = suggest_mapping(people_import.headers)
        people_import.status = "running"
        people_import.save()
        with pytest.raises(IntegrityError):
            import_run(people_import.pk)
        people_import.refresh_from_db()
        # Rows 1-8 are two chunks; the third (9-12) failed; the fourth and fifth, applied
        # meanwhile on the other connection, were rolled back.
        assert people_import.status == "failed" and "no_crash" in people_import.error
        assert (people_import.offset, people_import.created) == (8, 8)
        assert set(Person.objects.values_list("email", flat=True)) == {
            f"p{i}@par.fr" for i in range(1, 9)
        }
        assert Activity.objects.filter(kind="imported").count() == 8
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE people_person DROP CONSTRAINT no_crash")
        Import.objects.filter(pk=people_import.pk).update(status="running")
        done = import_run(people_import.pk)
        assert (done.status, done.offset, done.created, done.rejected) == ("done", 20, 20, 0)
        assert Activity.objects.filter(kind="imported").count() == 20


def test_a_second_worker_on_a_running_import_gets_not_ready(nations, small_chunks, settings):
    settings.IMPORT_APPLIERS = 2
    nation = nations[0]
    rows = "first_name,email\n" + "".join(f"P{i},w{i}@par.fr\n" for i in range(40))
    with schema_context(nation.schema_name):
        people_import = import_create(upload=upload_file("w.csv", rows.encode()), actor=Actor())
        people_import.mapping = suggest_mapping(people_import.headers)
        people_import.status = "running"
        people_import.save()
        with actions._running_alone(people_import.pk):  # a worker holds the import
            outcome: list = []

            def second_worker() -> None:
                try:
                    with schema_context(nation.schema_name):
                        try:
                            with actions._running_alone(people_import.pk):
                                outcome.append("ran")
                        except ImportNotReady:
                            outcome.append("not ready")
                        outcome.append(import_run(people_import.pk).offset)
                finally:
                    connections.close_all()

            thread = threading.Thread(target=second_worker)
            thread.start()
            thread.join(60)
            assert outcome == ["not ready", 0]
            assert not Person.objects.exists()

        # Two workers at once: each row is applied once, whoever applies it.
        finished: list = []

        def worker() -> None:
            try:
                with schema_context(nation.schema_name):
                    finished.append(import_run(people_import.pk).status)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        done = Import.objects.get(pk=people_import.pk)
        assert (done.status, done.offset, done.created, done.rejected) == ("done", 40, 40, 0)
        assert Person.objects.count() == 40
        assert Activity.objects.filter(kind="imported").count() == 40


def test_two_chunks_writing_one_person_at_once_end_as_with_one_connection(
    nations, small_chunks, settings, caplog
):
    """Line 3 (first chunk) and line 7 (second) name one existing person by their two
    addresses. The first chunk is held up (a trigger sleeps on its SLOW row) after matching, so
    the second one updates that person first and then waits for the first's commit, which
    waits for the person: a deadlock PostgreSQL breaks; the chunk it aborts is applied again."""
    caplog.set_level("INFO", logger="nations.imports.actions")
    text = "first_name,email,city\n" + "".join(
        f"{n},{e},{c}\n"
        for n, e, c in [
            ("SLOW", "slow@dl.fr", ""),
            ("Two", "two@dl.fr", "Lyon"),
            ("Kay", "k1@dl.fr", "Paris"),
            ("Four", "four@dl.fr", ""),
            ("Five", "five@dl.fr", ""),
            ("Six", "six@dl.fr", ""),
            ("Kay again", "k2@dl.fr", "Nice"),
            ("Eight", "eight@dl.fr", ""),
        ]
    )
    results = []
    for nation, appliers in zip(nations, (1, 2), strict=True):
        settings.IMPORT_APPLIERS = appliers
        with schema_context(nation.schema_name):
            kay, _ = person_upsert(data={"last_name": "K"}, email="k1@dl.fr", source="seed")
            person_email_add(person=kay, address="k2@dl.fr")
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                    " IF NEW.first_name = 'SLOW' THEN PERFORM pg_sleep(1.5); END IF;"
                    " RETURN NEW; END $$;"
                    " CREATE TRIGGER slow BEFORE INSERT ON people_person"
                    " FOR EACH ROW EXECUTE FUNCTION slow();"
                    # it fires with session_replication_role = replica too
                    " ALTER TABLE people_person ENABLE ALWAYS TRIGGER slow"
                )
        done = run_file(nation, text.encode())
        with schema_context(nation.schema_name):
            results.append(
                (
                    (done.status, done.offset, done.created, done.updated, done.rejected),
                    _reasons(done),
                    _snapshot(),
                )
            )
    assert results[0][:2] == (
        ("done", 8, 6, 1, 1),
        {8: "duplicate: an earlier line of the file has the same email"},
    )
    assert results[1] == results[0]
    # (which of the two PostgreSQL aborts depends on which one looks first)
    assert "applied again after a conflict (deadlock detected)" in caplog.text
