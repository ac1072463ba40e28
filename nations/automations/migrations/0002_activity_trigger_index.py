"""An index on the people app's timeline, owned here because only the engine reads it: the ids
of the entries that can trigger an automation, so each tick reads new tags, list joins,
signatures and gifts past its cursor without walking a blast's millions of "received an
email" rows. Partial, so those rows cost it nothing to write."""

from django.db import migrations

# Written as PostgreSQL prints it back (an array literal), so a nation cloned from the template
# schema gets the index with exactly the definition migrations give (tests/tenants compares).
PREDICATE = "((kind)::text = ANY ('{tagged,listed,signed,rsvp,other,donated}'::text[]))"


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0001_initial"),
        ("people", "__first__"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS activity_trigger_id ON people_activity (id)"
            f" WHERE {PREDICATE}",
            "DROP INDEX IF EXISTS activity_trigger_id",
        )
    ]
