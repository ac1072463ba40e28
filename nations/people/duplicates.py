"""Likely duplicates: two people with the same email, the same phone, or a similar name at the
same postal code.

The search walks people from the newest down, a batch at a time, and looks for each one's
older twin through indexes (email, phone, postal code); names are compared with pg_trgm's
similarity on the unaccented, lowercased names. A pair staff marked "not a duplicate"
(DuplicateDismissal) is never proposed again. One batch is one SQL statement, so a page of
pairs costs a few batches whatever the size of the nation, and the page says where to go on."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

from .models import Person

NAME_SIMILARITY = 0.6
BATCH = 2_000

_PAIRS_SQL = """
WITH batch AS (
    SELECT id, postal_code, lower(unaccent(first_name || ' ' || last_name)) AS name
    FROM people_person
    WHERE NOT is_erased AND id < %(before)s
    ORDER BY id DESC
    LIMIT %(batch)s
), pairs AS (
    SELECT o.person_id AS older, n.person_id AS newer, 'email' AS reason
    FROM batch
    JOIN people_personemail n ON n.person_id = batch.id
    JOIN people_personemail o ON o.address = n.address AND o.person_id < n.person_id
  UNION ALL
    SELECT o.person_id, n.person_id, 'phone'
    FROM batch
    JOIN people_personphone n ON n.person_id = batch.id
    JOIN people_personphone o ON o.number = n.number AND o.person_id < n.person_id
  UNION ALL
    SELECT o.id, batch.id, 'name'
    FROM batch
    JOIN people_person o ON o.postal_code = batch.postal_code AND o.id < batch.id
    WHERE batch.postal_code <> '' AND btrim(batch.name) <> '' AND NOT o.is_erased
      AND similarity(batch.name, lower(unaccent(o.first_name || ' ' || o.last_name)))
          >= %(similarity)s
)
SELECT older, newer, array_agg(DISTINCT reason ORDER BY reason),
       (SELECT min(id) FROM batch), (SELECT count(*) FROM batch)
FROM pairs
WHERE NOT EXISTS (
    SELECT 1 FROM people_duplicatedismissal d
    WHERE (d.person_id = pairs.older AND d.other_id = pairs.newer)
       OR (d.person_id = pairs.newer AND d.other_id = pairs.older)
)
GROUP BY older, newer
ORDER BY newer DESC, older DESC
"""


@dataclass
class DuplicatePair:
    older: Person
    newer: Person
    reasons: list[str]


@dataclass
class DuplicatePage:
    pairs: list[DuplicatePair] = field(default_factory=list)
    next_before: int | None = None  # where the next page starts (people with id below it)


def duplicate_pairs(
    *, before: int | None = None, limit: int = 50, max_batches: int = 10
) -> DuplicatePage:
    """Pairs of likely duplicates among people with id < `before`, newest first."""
    cursor_id = before if before is not None else 2**62
    found: list[tuple[int, int, list[str]]] = []
    exhausted = False
    with connection.cursor() as cursor:
        for _ in range(max_batches):
            cursor.execute(
                "SELECT min(id), count(*) FROM (SELECT id FROM people_person"
                " WHERE NOT is_erased AND id < %s ORDER BY id DESC LIMIT %s) b",
                [cursor_id, BATCH],
            )
            lowest, size = cursor.fetchone()
            if not size:
                exhausted = True
                break
            cursor.execute(
                _PAIRS_SQL,
                {"before": cursor_id, "batch": BATCH, "similarity": NAME_SIMILARITY},
            )
            found += [(older, newer, reasons) for older, newer, reasons, *_ in cursor.fetchall()]
            cursor_id = lowest
            if size < BATCH:
                exhausted = True
                break
            if len(found) >= limit:
                break
    people = Person.objects.in_bulk({pid for pair in found for pid in pair[:2]})
    page = DuplicatePage(next_before=None if exhausted else cursor_id)
    for older, newer, reasons in found:
        if older in people and newer in people:
            page.pairs.append(DuplicatePair(people[older], people[newer], reasons))
    return page
