"""A nation's schema is a clone of the migrated template, identical to a migrated schema."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context

from nations.people.models import Person
from tenants.provisioning import clone_template, template_schema

pytestmark = pytest.mark.django_db


def catalog(schema: str) -> dict[str, list]:
    """Everything about a schema that migrations create, with the schema name taken out."""

    def rows(sql: str) -> list:
        with connection.cursor() as cursor:
            cursor.execute(sql, [schema])
            return sorted(
                tuple(re.sub(rf'"?{schema}"?\.', "", str(v)) for v in row)
                for row in cursor.fetchall()
            )

    return {
        "columns": rows(
            "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity"
            " FROM information_schema.columns WHERE table_schema = %s"
        ),
        "indexes": rows("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s"),
        "constraints": rows(
            "SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)"
            " FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
        ),
    }


def applied_migrations(schema: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations ORDER BY app, name')
        return cursor.fetchall()


def test_a_clone_is_identical_to_a_schema_built_by_running_every_migration(world):
    clone_template("n_cloned")
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "n_migrated"')
    call_command(
        "migrate_schemas", tenant=True, schema_name="n_migrated", interactive=False, verbosity=0
    )
    cloned, migrated = catalog("n_cloned"), catalog("n_migrated")
    assert cloned["columns"] and cloned["indexes"] and cloned["constraints"]
    for part in ("columns", "indexes", "constraints"):
        assert cloned[part] == migrated[part], part
    assert applied_migrations("n_cloned") == applied_migrations("n_migrated")


def test_a_clone_has_its_own_sequences_and_data(world):
    clone_template("n_seq_a")
    clone_template("n_seq_b")
    with schema_context("n_seq_a"):
        first = Person.objects.create(email="a@example.org")
    with schema_context("n_seq_b"):
        assert not Person.objects.exists()
        second = Person.objects.create(email="b@example.org")
    assert first.pk == second.pk == 1  # independent identity sequences
    with schema_context(template_schema()):
        assert not Person.objects.exists()


def test_migrate_schemas_keeps_the_template_migrated(world):
    """A fleet-wide migrate also (re)builds the template, so new nations get every migration."""
    template = template_schema()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{template}" CASCADE')
    call_command("migrate_schemas", interactive=False, verbosity=0)
    assert applied_migrations(template) == applied_migrations(world.alpha.nation.schema_name)
    clone_template("n_after_migrate")
    with schema_context("n_after_migrate"):
        assert Person.objects.count() == 0
