"""The engine's read of new timeline entries can use the partial index on trigger kinds (so a
blast's millions of "received an email" rows are never walked)."""

from django.db import connection


def test_the_trigger_read_uses_the_partial_index(in_alpha):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT a.id FROM people_activity a WHERE a.id > 5"
            " AND a.kind IN ('tagged') AND a.summary = 'x'"
        )
        plan = "\n".join(r[0] for r in cursor.fetchall())
    assert "activity_trigger_id" in plan, plan
