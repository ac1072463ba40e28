"""The bulk path writes without the per-row foreign-key triggers when the connection may set
session_replication_role (nations/imports/bulk.py): the constraints stay, nothing else is
switched off, an import leaves no row pointing at nobody, the tags it uses are locked against a
concurrent delete, and without the privilege the triggers run and the rows are the same."""

from __future__ import annotations

import json
import logging
import re
import uuid

import psycopg2
import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from nations.imports.bulk import fk_triggers_skippable

from .conftest import run_file
from .test_bulk_equivalence import ROWS, seed, snapshot

pytestmark = pytest.mark.django_db

# (table, column, parent table): every row an import writes that points at another row.
REFERENCES = (
    ("people_personemail", "person_id", "people_person"),
    ("people_personphone", "person_id", "people_person"),
    ("people_tagging", "person_id", "people_person"),
    ("people_tagging", "tag_id", "people_tag"),
    ("people_activity", "person_id", "people_person"),
    ("people_consentchange", "person_id", "people_person"),
    ("people_note", "person_id", "people_person"),
)
WRITTEN = {"people_person", "people_tag"} | {table for table, _c, _p in REFERENCES}

NOTES = (
    ROWS.splitlines()[0]
    + ",notes\n"
    + "".join(line + ",a note\n" for line in ROWS.splitlines()[1:4])
    + "".join(line + ",\n" for line in ROWS.splitlines()[4:])
)


def test_replica_mode_would_silence_no_trigger_or_rule_of_the_nation(alpha):
    """`replica` skips every ordinary trigger and rule, not only the FK checks: there must be
    none on the nation's tables (if one is added, the bulk path must do its work itself)."""
    schema = alpha.nation.schema_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND NOT t.tgisinternal",
            [schema],
        )
        assert cursor.fetchall() == []
        cursor.execute(
            "SELECT c.relname, r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
            [schema],
        )
        assert cursor.fetchall() == []
        # The internal triggers on the written tables are the FK checks, firing on origin.
        cursor.execute(
            "SELECT DISTINCT c.relname, t.tgenabled, p.proname FROM pg_trigger t"
            " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_constraint k ON k.oid = t.tgconstraint"
            " WHERE n.nspname = %s AND c.relname = ANY(%s) AND k.contype = 'f'",
            [schema, sorted(WRITTEN)],
        )
        triggers = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = ANY(%s) AND t.tgconstraint = 0",
            [schema, sorted(WRITTEN)],
        )
        assert cursor.fetchone()[0] == 0
    assert {enabled for _t, enabled, _p in triggers} == {"O"}
    assert {proname[:8] for _t, _e, proname in triggers} == {"RI_FKey_"}


def test_the_foreign_keys_are_still_there(alpha):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text,"
            " c.condeferrable, c.condeferred FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE c.contype = 'f' AND n.nspname = %s",
            [alpha.nation.schema_name],
        )
        keys = {
            (table.split(".")[-1], column, parent.split(".")[-1]): (deferrable, deferred)
            for table, column, parent, deferrable, deferred in cursor.fetchall()
        }
    for reference in REFERENCES:
        assert keys.get(reference) == (True, True), reference


def orphans() -> dict[str, int]:
    found = {}
    with connection.cursor() as cursor:
        for table, column, parent in REFERENCES:
            cursor.execute(
                f"SELECT count(*) FROM {table} x WHERE NOT EXISTS"
                f" (SELECT 1 FROM {parent} p WHERE p.id = x.{column})"
            )
            found[f"{table}.{column}"] = cursor.fetchone()[0]
    return found


def test_an_import_without_the_triggers_leaves_every_row_pointing_at_someone(alpha, caplog):
    with schema_context(alpha.nation.schema_name):
        assert fk_triggers_skippable()  # the embedded PostgreSQL connects as a superuser
        seed()
    with caplog.at_level(logging.INFO, logger="nations.imports.actions"):
        done = run_file(alpha.nation, NOTES.encode(), tags=["extra"])
    assert "without per-row FK triggers" in caplog.text
    assert (done.created, done.updated, done.rejected) == (3, 4, 0)
    with schema_context(alpha.nation.schema_name):
        assert set(orphans().values()) == {0}
        # Rows of every kind were written, and the setting did not outlive the chunk.
        with connection.cursor() as cursor:
            for table in sorted(WRITTEN):
                cursor.execute(f"SELECT count(*) FROM {table}")
                assert cursor.fetchone()[0] > 0, table
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone()[0] == "origin"


def _without_the_privilege(schema: str) -> None:
    """For the rest of the test's transaction, act as a role that may read and write the
    nation but not set session_replication_role, as a managed database's owner role."""
    role = f"importer_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE ROLE {role} NOLOGIN NOSUPERUSER;"
            f" GRANT USAGE, CREATE ON SCHEMA {schema}, public TO {role};"
            f" GRANT ALL ON ALL TABLES IN SCHEMA {schema}, public TO {role};"
            f" GRANT ALL ON ALL SEQUENCES IN SCHEMA {schema}, public TO {role};"
            f" SET LOCAL ROLE {role}"
        )


def _people(people_import) -> str:
    """snapshot(), without the ids each nation counts on its own (the import's in sources,
    the notes' in their timeline entries)."""
    text = json.dumps(snapshot(), default=str).replace(f"import:{people_import.pk}", "import:N")
    return re.sub(r'(note\\*": )\d+', r"\1N", text)


def notes_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM people_note")
        return cursor.fetchone()[0]


def test_without_the_privilege_the_triggers_run_and_the_rows_are_the_same(alpha, bravo, caplog):
    for nation in (alpha.nation, bravo.nation):
        with schema_context(nation.schema_name):
            seed()
    fast = run_file(alpha.nation, NOTES.encode(), tags=["extra"])
    with schema_context(alpha.nation.schema_name):
        expected, notes = _people(fast), notes_count()
    with schema_context(bravo.nation.schema_name):
        _without_the_privilege(bravo.nation.schema_name)  # bravo only from here on
        assert not fk_triggers_skippable()
    with caplog.at_level(logging.INFO, logger="nations.imports.actions"):
        slow = run_file(bravo.nation, NOTES.encode(), tags=["extra"])
    assert "with per-row FK triggers" in caplog.text
    assert (slow.created, slow.updated, slow.rejected) == (fast.created, fast.updated, 0)
    with schema_context(bravo.nation.schema_name):
        assert _people(slow) == expected
        assert notes_count() == notes == 3


def test_a_tag_in_use_cannot_be_deleted_until_the_chunk_commits(alpha):
    """Taggings are written without their check, so the import locks the tags it uses: a
    concurrent delete waits (here: gives up after 200 ms) instead of leaving taggings behind."""
    schema = alpha.nation.schema_name
    other = psycopg2.connect(**connection.get_connection_params())
    other.autocommit = True
    try:
        with other.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {schema}.people_tag (name, created_at) VALUES ('committed-tag', now())"
                " RETURNING id"
            )
            tag_id = cursor.fetchone()[0]
        with transaction.atomic():
            run_file(alpha.nation, b"email,tags\nlock@eq.fr,committed-tag\n")
            with other.cursor() as cursor, pytest.raises(psycopg2.errors.LockNotAvailable):
                cursor.execute(
                    f"SET lock_timeout = '200ms'; DELETE FROM {schema}.people_tag WHERE id = %s",
                    [tag_id],
                )
            transaction.set_rollback(True)  # the savepoint's locks go with it
    finally:
        with other.cursor() as cursor:
            cursor.execute("SET lock_timeout = '10s'")
            cursor.execute(f"DELETE FROM {schema}.people_tag WHERE name = 'committed-tag'")
        other.close()
