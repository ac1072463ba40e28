"""An index on the people app's timeline, owned here because only the engine reads it: the ids
of the entries that can trigger an automation, so each tick reads new tags, list joins,
signatures and gifts past its cursor without walking a blast's millions of "received an
email" rows. Partial, so those rows cost it nothing to write. The predicate casts `kind` to text itself:
PostgreSQL prints `kind IN (...)` back in a form that re-parses differently, and a nation's
schema is cloned from the printed definitions (tenants/provisioning.py)."""

from django.db import migrations

KINDS = "('tagged', 'listed', 'signed', 'rsvp', 'other', 'donated')"


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0001_initial"),
        ("people", "__first__"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS activity_trigger_id ON people_activity (id)"
            f" WHERE kind::text IN {KINDS}",
            "DROP INDEX IF EXISTS activity_trigger_id",
        )
    ]
