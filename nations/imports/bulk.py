"""Applying a chunk of cleaned rows with set-based SQL: the fast path of person_upsert.

A chunk is copied (COPY) into a temporary table; then a fixed number of statements, whatever
the chunk's size, match, create, update, attach emails and phones, record consent, tag and write
the timeline. The result is the one person_upsert gives row by row (tests/imports/
test_bulk_equivalence.py imports the same rows both ways and compares the two nations), with
the import's own rules on top: the match rule picks the one identifier used to match, a row that
repeats an earlier one is reported instead of applied, and "skip" leaves matches untouched.

Runs inside the caller's transaction; returns what happened to each line.

Foreign-key checks. Each chunk writes ~6 rows per person that point at people_person (emails,
phones, taggings, timeline, consent history); Django's DEFERRABLE INITIALLY DEFERRED
constraints check each of them at COMMIT with a `SELECT … FOR KEY SHARE` on the parent, about
a third of PostgreSQL's work for an import. When the connection may set
`session_replication_role` (a superuser, or `GRANT SET ON PARAMETER` on PostgreSQL 15+), a
chunk's writes run with it set to `replica`, which skips those triggers, as pg_restore's
`--disable-triggers` does. Integrity then holds by construction: every row written points at a
person the chunk created or a matched person, or at a tag it ensured, and the matched people
and the tags are locked (FOR KEY SHARE, what the triggers would have taken) before the first
write, so a concurrent delete waits for the chunk's COMMIT, then fails on its own FK check.
The tables have no other triggers or rules for `replica` to switch off (tests/imports/
test_fk_triggers.py checks it). Without the privilege, the triggers run as always."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.db.models import JSONField
from django.utils.translation import gettext as _
from psycopg2.extras import Json

from nations.people.actions import Actor, tags_ensure
from nations.people.models import Activity, Person

from .rows import TEXT_FIELDS, CleanRow

# Columns of the temporary table, in COPY order.
ROW_COLUMNS = (
    ("line", "bigint"),
    ("key", "text"),
    *((name, "text") for name in TEXT_FIELDS),
    ("country", "text"),
    ("birthdate", "date"),
    ("language", "text"),
    ("support_level", "smallint"),
    ("email", "text"),
    ("email2", "text"),
    ("phone", "text"),
    ("phone_kind", "text"),
    ("phone2", "text"),
    ("phone2_kind", "text"),
    ("email_consent", "text"),
    ("sms_consent", "text"),
    ("search_text", "text"),
    ("custom", "jsonb"),
    ("note", "text"),
)
# Person fields an import may set, in the order person_upsert reports changes.
UPDATABLE = (*TEXT_FIELDS, "country", "birthdate", "language", "support_level")
NULLABLE = {"external_id", "birthdate", "support_level"}


logger = logging.getLogger(__name__)


class ChunkConflict(Exception):
    """A person the chunk matched, or a tag it uses, was deleted while it ran; resuming the
    import applies the chunk again from its matching."""


def fk_triggers_skippable() -> bool:
    """Whether this connection may set session_replication_role (tried once, in a savepoint,
    and undone): the bulk path then skips the per-row foreign-key triggers. False when the
    role is already something else than `origin` (left alone)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        if cursor.fetchone()[0] != "origin":
            return False
        try:
            with transaction.atomic():
                cursor.execute(
                    "SET LOCAL session_replication_role = replica;"
                    " SET LOCAL session_replication_role = origin"
                )
        except DatabaseError as exc:  # InsufficientPrivilege, as a rule
            logger.info("imports: session_replication_role not settable (%s)", exc)
            return False
    return True


@dataclass
class ChunkResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    # People who existed before the chunk and that it wrote to: two chunks applied at once
    # must not share one (see nations.imports.actions._apply_in_order).
    matched_ids: set[int] = field(default_factory=set)


def _text(value) -> str:
    if value is None or value == "":
        return "\\N"
    if isinstance(value, str):
        # Cleaned cells hold no tabs or line breaks (whitespace is collapsed), but a note keeps
        # its lines: COPY's text format spells them \n.
        return (
            value.replace("\\", "\\\\").replace("\t", " ").replace("\n", "\\n").replace("\r", "\\r")
        )
    return str(value)


def _copy(cursor, table: str, columns: tuple[str, ...], rows) -> None:
    buffer = io.StringIO()
    write = buffer.write
    for row in rows:
        write("\t".join(_text(v) for v in row))
        write("\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def rows_copy_text(rows: list[CleanRow], key_of) -> str:
    """The COPY text of `rows` for the temporary table (what `_copy` would write), built fast
    enough to run for a million rows: cleaned cells have no tabs or line breaks (whitespace is
    collapsed), so a row is one join, and only a row with a backslash or a stray separator goes
    through the careful path. Runs in the import's reading thread."""
    tabs = len(ROW_COLUMNS) - 1
    lines = []
    for row in rows:
        values = _row_values(row, key_of(row))
        # COPY … (NULL ''): an empty cell is NULL, as None and "" both are here.
        line = "\t".join(
            [v if v.__class__ is str else ("" if v is None else str(v)) for v in values]
        )
        if "\\" in line or "\n" in line or "\r" in line or line.count("\t") != tabs:
            line = "\t".join("" if v is None or v == "" else _text(v) for v in values)
        lines.append(line)
    lines.append("")
    return "\n".join(lines)


def _row_values(row: CleanRow, key: str | None) -> tuple:
    return (
        row.line,
        key,
        *(getattr(row, name) for name in TEXT_FIELDS),
        row.country,
        row.birthdate,
        row.language,
        row.support_level,
        row.email,
        row.email2,
        row.phone,
        row.phone_kind,
        row.phone2,
        row.phone2_kind,
        row.email_consent,
        row.sms_consent,
        row.search_text,
        json.dumps(row.custom, ensure_ascii=False) if row.custom else None,
        row.note,
    )


def apply_chunk(
    rows: list[CleanRow],
    *,
    match_rule: str,
    on_match: str,
    source: str,
    summary: str,
    actor: Actor,
    now: datetime,
    key_of,
    copy_text: str | None = None,
    skip_fk_triggers: bool = False,
) -> ChunkResult:
    """Apply `rows` (already unique by match key within the chunk). `key_of(row)` is the
    row's match key or None; `copy_text`, if given, is `rows_copy_text(rows, key_of)` built
    beforehand. `skip_fk_triggers` (only when fk_triggers_skippable()) writes without the
    per-row foreign-key triggers, see the module's docstring; raises ChunkConflict if a
    matched person or a tag disappears meanwhile."""
    result = ChunkResult()
    if not rows:
        return result
    with connection.cursor() as cursor:
        # A chunk commits with the import's offset, so losing the last commits in a server
        # crash loses nothing the resume would not redo: no need to wait for the WAL flush.
        # A larger GIN pending list batches the trigram index (search) writes of the chunk.
        cursor.execute(
            "SET LOCAL synchronous_commit = off; SET LOCAL gin_pending_list_limit = '32MB';"
            " DROP TABLE IF EXISTS import_rows; DROP TABLE IF EXISTS import_tags"
        )
        if skip_fk_triggers:
            # Until the end of this function only: the caller's own writes (rejections, the
            # import's offset) keep their checks. A failure rolls the setting back with the
            # transaction (or savepoint).
            cursor.execute("SET LOCAL session_replication_role = replica")
        columns = ", ".join(f"{name} {kind}" for name, kind in ROW_COLUMNS)
        # Every row gets a new person's id as it is copied in (ids of rows that turn out to
        # match someone are simply never used): the rows are written once, and matching
        # rewrites only the rows that matched.
        cursor.execute(
            f"CREATE TEMP TABLE import_rows ({columns}, person_id bigint NOT NULL DEFAULT"
            " nextval(pg_get_serial_sequence('people_person', 'id')),"
            " created boolean NOT NULL DEFAULT true, changes jsonb)"
        )
        cursor.execute("CREATE TEMP TABLE import_tags (line bigint, tag_id bigint)")
        if copy_text is None:
            copy_text = rows_copy_text(rows, key_of)
        names = ", ".join(name for name, _kind in ROW_COLUMNS)
        cursor.copy_expert(
            f"COPY import_rows ({names}) FROM STDIN (NULL '')", io.StringIO(copy_text)
        )
        # The columns the plans below depend on (row count, uniqueness of line and person_id,
        # how many are new): a full ANALYZE of the ~30 text columns costs ~100 ms a chunk.
        cursor.execute(
            "CREATE UNIQUE INDEX ON import_rows (line); ANALYZE import_rows (line, person_id, created)"
        )

        _reject_tombstoned(cursor, result)
        _match(cursor, match_rule)
        _reject_duplicates(cursor, result, source, match_rule)
        if on_match == "skip":
            cursor.execute("DELETE FROM import_rows WHERE NOT created")
            result.skipped = cursor.rowcount
        _reject_taken_external_ids(cursor, result, overwrite=on_match == "overwrite")

        cursor.execute(
            "SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created)"
            " FROM import_rows"
        )
        result.created, matched = cursor.fetchone()
        if skip_fk_triggers and matched:
            _lock_matched_people(cursor, matched)
        if matched:
            cursor.execute("SELECT person_id FROM import_rows WHERE NOT created")
            result.matched_ids = {person_id for (person_id,) in cursor.fetchall()}
        _insert_people(cursor, now)
        result.updated = _update_people(cursor, overwrite=on_match == "overwrite", now=now)
        _attach_emails_and_phones(cursor, now)
        _refresh_search_text(cursor)
        _record_activities(cursor, source, summary, actor, now)
        for column, channel in (("email_consent", "email"), ("sms_consent", "sms")):
            _record_consent(cursor, column, channel, source, actor, now)
        _tag(cursor, rows, actor, now, lock=skip_fk_triggers)
        _add_notes(cursor, actor, now)
        # person_upsert's activity_record sets last_activity_at with every timeline entry.
        cursor.execute(
            "UPDATE people_person p SET last_activity_at = %s FROM import_rows r"
            " WHERE p.id = r.person_id AND NOT r.created AND EXISTS (SELECT 1 FROM"
            " people_activity a WHERE a.person_id = r.person_id AND a.at = %s)",
            [now, now],
        )
        cursor.execute("DROP TABLE import_rows; DROP TABLE import_tags")
        if skip_fk_triggers:
            cursor.execute("SET LOCAL session_replication_role = origin")
    return result


def _lock_matched_people(cursor, matched: int) -> None:
    """What the FK triggers would lock: the `matched` people the chunk's rows will point at.
    A person deleted since matching is missing from the locked rows (READ COMMITTED skips
    it): stop rather than write rows that point at nobody."""
    cursor.execute(
        "SELECT count(*) FROM (SELECT p.id FROM people_person p WHERE p.id IN"
        " (SELECT person_id FROM import_rows WHERE NOT created) FOR KEY SHARE OF p) locked"
    )
    locked = cursor.fetchone()[0]
    if locked != matched:
        raise ChunkConflict(
            _("%(count)s matched people were deleted while the import ran; resume it")
            % {"count": matched - locked}
        )


def _reject_tombstoned(cursor, result: ChunkResult) -> None:
    cursor.execute("SELECT EXISTS (SELECT 1 FROM people_tombstone)")
    if not cursor.fetchone()[0]:
        return
    # identity_hash(): sha256 of the trimmed, lowercased value (emails and E.164 numbers here
    # are already both).
    cursor.execute(
        "WITH hashes AS (SELECT line, encode(sha256(convert_to(v, 'UTF8')), 'hex') AS h"
        " FROM import_rows, unnest(ARRAY[email, email2, phone, phone2]) AS v WHERE v <> '')"
        " DELETE FROM import_rows r WHERE line IN (SELECT line FROM hashes h WHERE EXISTS"
        " (SELECT 1 FROM people_tombstone t WHERE t.email_hash = h.h OR t.phone_hash = h.h))"
        " RETURNING line"
    )
    reason = _(
        "this person was erased at their request (GDPR); they can only come back by signing"
        " up themselves"
    )
    result.rejected += [(line, reason) for (line,) in cursor.fetchall()]


def _match(cursor, rule: str) -> None:
    """find_match() for one identifier: the primary copy on the person first (lowest id),
    then any of their other addresses or numbers.

    Scalar subqueries, so each row is one index probe: a join would let the planner hash the
    whole people table for every chunk, which grows with the import itself."""
    if rule == "external_id":
        cursor.execute(
            "UPDATE import_rows r SET person_id = m.id, created = false FROM (SELECT i.line,"
            " (SELECT p.id FROM people_person p WHERE p.external_id = i.external_id) AS id"
            " FROM import_rows i WHERE i.external_id IS NOT NULL) m"
            " WHERE r.line = m.line AND m.id IS NOT NULL"
        )
        return
    column, table, other = (
        ("email", "people_personemail", "address")
        if rule == "email"
        else ("phone", "people_personphone", "number")
    )
    # One statement, and only the rows that matched are written (a fresh import matches few).
    # `person_id + 0`: min() must not walk the (person, address) index in person order,
    # filtering on the address — which the planner picks while the table's statistics
    # still say it is empty, and which then reads the whole index for every row.
    cursor.execute(
        f"UPDATE import_rows r SET person_id = m.person_id, created = false FROM (SELECT i.line,"
        f" coalesce((SELECT min(p.id) FROM people_person p WHERE p.{column} = i.{column}),"
        f" (SELECT min(x.person_id + 0) FROM {table} x WHERE x.{other} = i.{column}))"
        f" AS person_id FROM import_rows i WHERE i.{column} IS NOT NULL) m"
        f" WHERE r.line = m.line AND m.person_id IS NOT NULL"
    )


def _reject_duplicates(cursor, result: ChunkResult, source: str, rule: str) -> None:
    # Two rows of this chunk that found the same person by different addresses.
    cursor.execute(
        "DELETE FROM import_rows r USING (SELECT person_id, min(line) AS first FROM import_rows"
        " WHERE NOT created GROUP BY person_id HAVING count(*) > 1) d"
        " WHERE r.person_id = d.person_id AND r.line > d.first RETURNING r.line, d.first"
    )
    for line, first in cursor.fetchall():
        result.rejected.append(
            (line, _("duplicate: line %(line)s is about the same person") % {"line": first})
        )
    # A row that repeats one of an earlier chunk: that row's person carries this import's mark.
    cursor.execute(
        "DELETE FROM import_rows r WHERE NOT r.created AND EXISTS (SELECT 1 FROM"
        " people_activity a WHERE a.person_id = r.person_id AND a.kind IN ('imported', 'updated')"
        " AND a.data->>'source' = %s) RETURNING r.line",
        [source],
    )
    reason = _("duplicate: an earlier line of the file has the same %(identifier)s") % {
        "identifier": _identifier(rule)
    }
    result.rejected += [(line, reason) for (line,) in cursor.fetchall()]


def _identifier(rule: str) -> str:
    return {"email": _("email"), "phone": _("phone number"), "external_id": _("external id")}[rule]


def _reject_taken_external_ids(cursor, result: ChunkResult, *, overwrite: bool) -> None:
    cursor.execute(
        "DELETE FROM import_rows r WHERE r.external_id IS NOT NULL"
        " AND (SELECT p.id FROM people_person p WHERE p.external_id = r.external_id"
        "  AND p.id IS DISTINCT FROM r.person_id LIMIT 1) IS NOT NULL"
        " AND (r.created OR %s OR (SELECT t.external_id FROM people_person t"
        "  WHERE t.id = r.person_id) IS NULL)"
        " RETURNING r.line, r.external_id",
        [overwrite],
    )
    for line, external_id in cursor.fetchall():
        result.rejected.append(
            (
                line,
                _("external id “%(id)s” already belongs to another person") % {"id": external_id},
            )
        )


def _insert_people(cursor, now: datetime) -> None:
    given = {
        **{name: f"coalesce(r.{name}, '')" for name in TEXT_FIELDS if name not in NULLABLE},
        "external_id": "r.external_id",
        "country": "coalesce(r.country, '')",
        "birthdate": "r.birthdate",
        "language": "coalesce(r.language, '')",
        "support_level": "r.support_level",
        "email": "coalesce(r.email, '')",
        "phone": "coalesce(r.phone, '')",
        "search_text": "coalesce(r.search_text, '')",
        "custom": "coalesce(r.custom, '{}'::jsonb)",
        # consent_set() from "unknown": any status given is taken (see _record_consent)
        "email_consent": "coalesce(r.email_consent, 'unknown')",
        "sms_consent": "coalesce(r.sms_consent, 'unknown')",
        "created_at": "%(now)s",
        "updated_at": "%(now)s",
        "last_activity_at": "%(now)s",
    }
    columns, values, params = ["id"], ["r.person_id"], {"now": now}
    for model_field in Person._meta.concrete_fields:
        name = model_field.column
        if name == "id":
            continue
        columns.append(name)
        if model_field.name in given:
            values.append(given[model_field.name])
        else:
            default = model_field.get_default()
            if isinstance(model_field, JSONField):
                params[name] = Json(default)
            else:
                params[name] = model_field.get_db_prep_save(default, connection)
            values.append(f"%({name})s")
    cursor.execute(
        f"INSERT INTO people_person ({', '.join(columns)}) SELECT {', '.join(values)}"
        " FROM import_rows r WHERE r.created ORDER BY r.line",
        params,
    )


def _update_people(cursor, *, overwrite: bool, now: datetime) -> int:
    """Fill empty fields (or overwrite changed ones), recording [old, new] like person_upsert."""
    pairs = []
    for name in UPDATABLE:
        incoming = f"r.{name} IS NOT NULL" + ("" if name in ("birthdate", "support_level") else "")
        empty = f"p.{name} IS NULL" + (
            "" if name in ("birthdate", "support_level") else f" OR p.{name} = ''"
        )
        condition = f"{incoming} AND ({empty}" + (
            f" OR p.{name} IS DISTINCT FROM r.{name})" if overwrite else ")"
        )
        pairs.append(
            f"'{name}', CASE WHEN {condition} THEN jsonb_build_array(to_jsonb(p.{name}),"
            f" to_jsonb(r.{name})) END"
        )
    # Custom fields, key by key: filled where the person has no value (or "" ), or overwritten.
    kept = (
        "(SELECT coalesce(jsonb_object_agg(k, v), '{}'::jsonb) FROM jsonb_each(p.custom) e(k, v)"
        " WHERE v NOT IN ('\"\"'::jsonb, 'null'::jsonb))"
    )
    merged = "p.custom || r.custom" if overwrite else f"p.custom || (r.custom || {kept})"
    pairs.append(
        f"'custom', CASE WHEN r.custom IS NOT NULL AND ({merged}) <> p.custom"
        f" THEN jsonb_build_array(p.custom, {merged}) END"
    )
    # jsonb_build_object takes at most 100 arguments; we pass 2 per field.
    cursor.execute(
        f"UPDATE import_rows r SET changes = jsonb_strip_nulls(jsonb_build_object("
        f"{', '.join(pairs)})) FROM people_person p WHERE p.id = r.person_id AND NOT r.created"
    )
    sets = [
        f"{name} = CASE WHEN r.changes ? '{name}' THEN r.{name} ELSE p.{name} END"
        for name in UPDATABLE
    ]
    sets += [
        "custom = CASE WHEN r.changes ? 'custom' THEN r.changes->'custom'->1 ELSE p.custom END",
        "email = CASE WHEN p.email = '' AND r.email IS NOT NULL THEN r.email ELSE p.email END",
        "phone = CASE WHEN p.phone = '' AND r.phone IS NOT NULL THEN r.phone ELSE p.phone END",
        "updated_at = %s",
    ]
    cursor.execute(
        f"UPDATE people_person p SET {', '.join(sets)} FROM import_rows r"
        " WHERE p.id = r.person_id AND NOT r.created",
        [now],
    )
    return cursor.rowcount


def _attach_emails_and_phones(cursor, now: datetime) -> None:
    for column, table, value, extra in (
        ("email", "people_personemail", "address", "'ok'"),
        ("email2", "people_personemail", "address", "'ok'"),
        ("phone", "people_personphone", "number", "coalesce(r.phone_kind, 'unknown')"),
        ("phone2", "people_personphone", "number", "coalesce(r.phone2_kind, 'unknown')"),
    ):
        other = "status" if table == "people_personemail" else "kind"
        cursor.execute(
            f"INSERT INTO {table} (person_id, {value}, is_primary, {other}, created_at)"
            f" SELECT r.person_id, r.{column}, r.created AND %s OR NOT EXISTS (SELECT 1 FROM"
            f" {table} x WHERE x.person_id = r.person_id AND x.is_primary), {extra}, %s"
            f" FROM import_rows r WHERE r.{column} IS NOT NULL ORDER BY r.line"
            f" ON CONFLICT (person_id, {value}) DO NOTHING",
            [column in ("email", "phone"), now],
        )


def _refresh_search_text(cursor) -> None:
    """Matched people's search text, from all their emails and phones (refresh_search_text)."""
    from nations.people.normalise import search_text

    cursor.execute(
        "SELECT p.id, p.first_name, p.middle_name, p.last_name,"
        " ARRAY(SELECT address FROM people_personemail e WHERE e.person_id = p.id"
        "  ORDER BY e.is_primary DESC, e.id),"
        " ARRAY(SELECT number FROM people_personphone f WHERE f.person_id = p.id"
        "  ORDER BY f.is_primary DESC, f.id)"
        " FROM people_person p JOIN import_rows r ON r.person_id = p.id WHERE NOT r.created"
    )
    texts = [
        (pk, search_text(first_name=f, middle_name=m, last_name=la, emails=e, phones=ph))
        for pk, f, m, la, e, ph in cursor.fetchall()
    ]
    if not texts:
        return
    cursor.execute("CREATE TEMP TABLE import_search (id bigint, search_text text)")
    _copy(cursor, "import_search", ("id", "search_text"), texts)
    cursor.execute(
        "UPDATE people_person p SET search_text = s.search_text FROM import_search s"
        " WHERE p.id = s.id AND p.search_text IS DISTINCT FROM s.search_text;"
        " DROP TABLE import_search"
    )


def _record_activities(cursor, source: str, summary: str, actor: Actor, now: datetime) -> None:
    cursor.execute(
        "INSERT INTO people_activity (person_id, kind, summary, data, actor_id, actor_name, at)"
        " SELECT person_id, %s, %s, %s, %s, %s, %s FROM import_rows WHERE created ORDER BY line",
        [
            Activity.Kind.IMPORTED,
            (summary or source)[:300],
            json.dumps({"source": source}),
            actor.user_id,
            actor.name,
            now,
        ],
    )
    cursor.execute(
        "INSERT INTO people_activity (person_id, kind, summary, data, actor_id, actor_name, at)"
        " SELECT person_id, %s, %s, jsonb_build_object('source', %s::text, 'changes', changes),"
        " %s, %s, %s FROM import_rows WHERE NOT created AND changes <> '{}'::jsonb ORDER BY line",
        [Activity.Kind.UPDATED, source[:300], source, actor.user_id, actor.name, now],
    )


def _record_consent(
    cursor, column: str, channel: str, source: str, actor: Actor, now: datetime
) -> None:
    """consent_set() for every row with a value: no change when it is the current status, and a
    withdrawal (unsubscribe) is never undone by an import."""
    field = f"{channel}_consent"
    # People created by this chunk were inserted with the status already (from "unknown",
    # any status is a change); matched people follow consent_set's rules.
    cursor.execute(
        f"CREATE TEMP TABLE import_consent AS SELECT person_id, status, created FROM"
        f" (SELECT r.person_id, r.{column} AS status, r.created, CASE WHEN NOT r.created THEN"
        f" (SELECT p.{field} FROM people_person p WHERE p.id = r.person_id) END AS current"
        f" FROM import_rows r WHERE r.{column} IS NOT NULL) c WHERE created OR"
        f" (current <> status AND NOT (current = 'withdrawn' AND status = 'granted'))"
    )
    cursor.execute(
        f"UPDATE people_person p SET {field} = c.status FROM import_consent c"
        " WHERE p.id = c.person_id AND NOT c.created"
    )
    cursor.execute("SELECT EXISTS (SELECT 1 FROM import_consent)")
    if cursor.fetchone()[0]:
        cursor.execute(
            "INSERT INTO people_consentchange (person_id, channel, status, source, wording, at)"
            " SELECT person_id, %s, status, %s, '', %s FROM import_consent",
            [channel, source, now],
        )
        cursor.execute(
            "INSERT INTO people_activity (person_id, kind, summary, data, actor_id, actor_name,"
            " at) SELECT person_id, %s, %s || ': ' || status, jsonb_build_object('channel', %s,"
            " 'status', status, 'source', %s, 'wording', ''), %s, %s, %s FROM import_consent",
            [Activity.Kind.CONSENT, channel, channel, source, actor.user_id, actor.name, now],
        )
    cursor.execute("DROP TABLE import_consent")


def _add_notes(cursor, actor: Actor, now: datetime) -> None:
    """note_add() for every row with a note: the note, by the import's author, and its line on
    the timeline."""
    cursor.execute(
        "WITH added AS (INSERT INTO people_note (person_id, author_id, author_name, body,"
        " created_at) SELECT person_id, %s, %s, note, %s FROM import_rows WHERE note IS NOT NULL"
        " ORDER BY line RETURNING id, person_id, body)"
        " INSERT INTO people_activity (person_id, kind, summary, data, actor_id, actor_name, at)"
        " SELECT person_id, %s, left(body, 120), jsonb_build_object('note', id), %s, %s, %s"
        " FROM added",
        [actor.user_id, actor.name[:150], now, Activity.Kind.NOTE, actor.user_id, actor.name, now],
    )


def _tag(cursor, rows: list[CleanRow], actor: Actor, now: datetime, *, lock: bool) -> None:
    names = {name for row in rows for name in row.tags}
    if not names:
        return
    ids = {tag.name: tag.pk for tag in tags_ensure(names)}
    if lock:
        # As for matched people (_lock_matched_people): a tag deleted since tags_ensure read
        # it is not locked, and the taggings would point at nothing.
        cursor.execute(
            "SELECT count(*) FROM (SELECT id FROM people_tag WHERE id = ANY(%s) FOR KEY SHARE) t",
            [list(ids.values())],
        )
        if cursor.fetchone()[0] != len(ids):
            raise ChunkConflict(_("a tag was deleted while the import ran; resume it"))
    _copy(
        cursor,
        "import_tags",
        ("line", "tag_id"),
        ((row.line, ids[name]) for row in rows for name in row.tags if name in ids),
    )
    cursor.execute(
        "WITH added AS (INSERT INTO people_tagging (person_id, tag_id, created_at)"
        " SELECT r.person_id, t.tag_id, %s FROM import_tags t JOIN import_rows r USING (line)"
        " ORDER BY r.line, t.tag_id ON CONFLICT DO NOTHING RETURNING person_id, tag_id)"
        " INSERT INTO people_activity (person_id, kind, summary, data, actor_id, actor_name, at)"
        " SELECT a.person_id, %s, g.name, '{}', %s, %s, %s FROM added a"
        " JOIN people_tag g ON g.id = a.tag_id",
        [now, Activity.Kind.TAGGED, actor.user_id, actor.name, now],
    )
