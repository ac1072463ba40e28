"""Nation schemas: the migrated template, and cloning it into a new nation's schema.

A new nation's schema is a copy of `settings.TENANT_TEMPLATE_SCHEMA`, which `migrate_schemas`
keeps migrated with the fleet (tenants/management/commands/migrate_schemas.py). Copying the
catalog takes tens of milliseconds where running every migration takes seconds, and the copy
keeps every object's name (constraints and indexes included), so later migrations that drop or
rename them by name apply to cloned schemas exactly as to migrated ones; tests/tenants/
test_provisioning.py compares the two catalogs.

The clone runs inside the caller's transaction: PostgreSQL DDL is transactional, so a signup
that fails after cloning leaves no schema behind.
"""

from __future__ import annotations

import re
import threading

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import schema_exists

SCHEMA_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_script_cache: dict[tuple, str] = {}
_script_lock = threading.Lock()


class TemplateMissing(RuntimeError):
    """The template schema does not exist: run `migrate_schemas`."""


def template_schema() -> str:
    return settings.TENANT_TEMPLATE_SCHEMA


def ensure_template(*, verbosity: int = 0) -> None:
    """Create the template schema if missing and apply every tenant migration to it."""
    name = template_schema()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
    call_command(
        "migrate_schemas", tenant=True, schema_name=name, interactive=False, verbosity=verbosity
    )
    _script_cache.clear()


def clone_template(target: str) -> None:
    """Create schema `target` as a copy of the template's tables, rows, indexes and constraints.

    Runs in the current transaction. Raises TemplateMissing if there is no template."""
    if not SCHEMA_NAME_RE.match(target):
        raise ValueError(f"invalid schema name {target!r}")
    with transaction.atomic():
        _clone_into(target)
    # django-tenants caches the search path per connection; make it set it again.
    connection.search_path_set_schemas = None


def _clone_into(target: str) -> None:
    script = _clone_script()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{target}"')
        cursor.execute(f'SET LOCAL search_path = "{target}", public')
        cursor.execute(script.replace("__TARGET__", target))
        cursor.execute("SET LOCAL search_path = public")


def _template_version() -> tuple:
    source = template_schema()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [source])
        if not cursor.fetchone()[0]:
            raise TemplateMissing(
                f"Template schema {source!r} is missing: run `manage.py migrate_schemas`."
            )
        cursor.execute(f'SELECT count(*), max(id) FROM "{source}".django_migrations')
        return (source, *cursor.fetchone())


def _clone_script() -> str:
    key = _template_version()
    with _script_lock:
        if key not in _script_cache:
            _script_cache.clear()
            with transaction.atomic():
                _script_cache[key] = _build_clone_script(key[0])
        return _script_cache[key]


def _build_clone_script(source: str) -> str:
    """SQL that recreates `source` in the schema named __TARGET__ (which is on search_path)."""
    statements: list[str] = []
    qsource = f'"{source}".'
    with connection.cursor() as cursor:
        # Catalog functions print objects of the search path unqualified: with only the template
        # on it, every reference to a template object comes out relative and so lands in the
        # target; references to `public` stay qualified.
        cursor.execute(f'SET LOCAL search_path = "{source}"')
        cursor.execute(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
            [source],
        )
        tables = cursor.fetchall()
        if any(kind == "p" for _, kind in tables):
            raise NotImplementedError("cloning partitioned tables: extend tenants.provisioning")

        cursor.execute(
            "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n"
            " ON n.oid = p.pronamespace WHERE n.nspname = %s AND p.prokind = 'f'",
            [source],
        )
        for (definition,) in cursor.fetchall():
            statements.append(
                definition.replace(f"FUNCTION {qsource}", "FUNCTION ").replace(
                    f"FUNCTION {source}.", "FUNCTION "
                )
            )

        cursor.execute(
            "SELECT sequencename, increment_by, start_value, min_value, max_value, last_value"
            " FROM pg_sequences s WHERE schemaname = %s AND NOT EXISTS ("
            "  SELECT 1 FROM pg_depend d JOIN pg_class c ON c.oid = d.objid"
            "  JOIN pg_namespace n ON n.oid = c.relnamespace"
            "  WHERE c.relname = s.sequencename AND n.nspname = s.schemaname AND d.deptype IN ('a', 'i'))",
            [source],
        )
        for name, inc, start, lo, hi, last in cursor.fetchall():
            statements.append(
                f'CREATE SEQUENCE "{name}" INCREMENT {inc} MINVALUE {lo} MAXVALUE {hi} START {start}'
            )
            if last is not None:
                statements.append(f"SELECT setval('\"{name}\"', {last})")

        for table, _kind in tables:
            statements.append(
                f'CREATE TABLE "{table}" (LIKE {qsource}"{table}" INCLUDING DEFAULTS'
                " INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS"
                " INCLUDING COMPRESSION)"
            )

        for table, _kind in tables:
            cursor.execute(f'SELECT EXISTS (SELECT 1 FROM {qsource}"{table}")')
            if not cursor.fetchone()[0]:
                continue
            cursor.execute(
                "SELECT a.attname, a.attidentity FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s"
                " AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
                [source, table],
            )
            columns = cursor.fetchall()
            names = ", ".join(f'"{c}"' for c, _ in columns)
            statements.append(
                f'INSERT INTO "{table}" ({names}) OVERRIDING SYSTEM VALUE'
                f' SELECT {names} FROM {qsource}"{table}"'
            )
            for column, identity in columns:
                if identity:
                    statements.append(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'),"
                        f' (SELECT COALESCE(max("{column}"), 0) + 1 FROM "{table}"), false)'
                    )

        # Keys and checks first, foreign keys once every referenced key exists.
        cursor.execute(
            "SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)"
            " FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND con.contype IN ('p', 'u', 'c', 'x', 'f')"
            " AND con.conislocal ORDER BY con.contype = 'f', c.relname, con.conname",
            [source],
        )
        constraints = cursor.fetchall()
        for table, name, kind, definition in constraints:
            if kind != "f":
                statements.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')

        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)"
            " ORDER BY 1",
            [source],
        )
        for (definition,) in cursor.fetchall():
            statements.append(_retarget(definition, source, "ON "))

        for table, name, kind, definition in constraints:
            if kind == "f":
                statements.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')

        cursor.execute(
            "SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'v' ORDER BY c.oid",
            [source],
        )
        for name, definition in cursor.fetchall():
            statements.append(f'CREATE VIEW "{name}" AS {definition.rstrip().rstrip(";")}')

        cursor.execute(
            "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT t.tgisinternal",
            [source],
        )
        for (definition,) in cursor.fetchall():
            statements.append(_retarget(definition, source, "ON "))

        cursor.execute("SET LOCAL search_path = public")
    return ";\n".join(statements) + ";\n"


def _retarget(definition: str, source: str, keyword: str) -> str:
    """`... ON template.t ...` -> `... ON t ...` (resolved in the target via search_path)."""
    for prefix in (
        f'{keyword}ONLY "{source}".',
        f"{keyword}ONLY {source}.",
        f'{keyword}"{source}".',
        f"{keyword}{source}.",
    ):
        definition = definition.replace(prefix, keyword + ("ONLY " if "ONLY" in prefix else ""))
    return definition


def drop_schema(name: str) -> None:
    if not SCHEMA_NAME_RE.match(name) or name in ("public", template_schema()):
        raise ValueError(f"refusing to drop schema {name!r}")
    if schema_exists(name):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{name}" CASCADE')
