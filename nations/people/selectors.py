"""Reads of the supporter base shared by the panel, exports, messages and the API."""

from __future__ import annotations

import contextlib
import re

from django.db import DatabaseError, connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from .models import Person
from .normalise import fold

# pg_trgm's words are runs of letters and digits; everything else separates them.
_WORDS = re.compile(r"[^\W_]+")


def people_search(query: str, base: QuerySet[Person] | None = None) -> QuerySet[Person]:
    """People whose name, email or phone matches `query`, accents and case ignored, with typos
    tolerated (trigram word similarity). Best matches first.

    Substring matches first: when some people contain the query as typed (accents and case
    aside), those are the results. Only when nobody does is the query taken as possibly
    misspelt: then every word of it must be found in a person's text, as a substring or a close
    word (`<%`, word similarity), so "helen dupond" finds "Hélène Dupont" — and if that finds
    nobody either, the whole query close to someone's text. Each check is a `LIMIT 1` probe
    on the trigram index; they save computing a word similarity for the thousands of people
    a common first name matches ("nathalie bonet" used to rank every Nathalie). Results are ranked by word similarity to the
    whole query, newest first among equals."""
    people = base if base is not None else Person.objects.all()
    q = fold(query)
    if not q:
        return people
    digits = "".join(c for c in q if c.isdigit())
    if "@" in q or (digits and len(digits) >= 6 and len(digits) >= len(q.replace(" ", "")) - 1):
        needle = digits if "@" not in q else q
        return people.filter(search_text__contains=needle)
    substring = people.extra(where=["search_text LIKE %s"], params=[f"%{_escape_like(q)}%"])
    words = [w for w in _WORDS.findall(q) if len(w) >= 3]
    if _any(substring):
        matches = substring
    elif len(words) < 2:
        matches = people.extra(where=["%s <%% search_text"], params=[q])
    else:
        matches = people
        for word in words:
            matches = matches.extra(
                where=["search_text LIKE %s OR %s <%% search_text"],
                params=[f"%{_escape_like(word)}%", word],
            )
        if not _any(matches):
            # One word too far from any other ("stephane lefebre"): the whole query may
            # still be close to someone's name as a whole.
            matches = people.extra(where=["%s <%% search_text"], params=[q])
    # word_similarity is 1 wherever the query appears as whole words: skip computing it there
    # (same ranks, a fraction of the cost for common names).
    whole = r"(^|[^[:alnum:]])" + _escape_regex(q) + r"($|[^[:alnum:]])"
    return matches.annotate(
        _rank=RawSQL(
            "CASE WHEN search_text ~ %s THEN 1::real ELSE word_similarity(%s, search_text) END",
            (whole, q),
        )
    ).order_by("-_rank", "-id")


def _any(people: QuerySet[Person]) -> bool:
    """Whether `people` holds anyone, asked of the trigram index. With `LIMIT 1` the planner
    takes a long pattern for a common one and prefers reading the table until the first match
    — all of it (300 ms at a million people) when nobody matches."""
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    try:
        return people.order_by().exists()
    finally:
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")  # (an aborted transaction reverts the SET)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _escape_regex(value: str) -> str:
    # In PostgreSQL's regular expressions a backslash before a non-alphanumeric character
    # makes it literal (before a letter it would start an escape such as \m).
    return "".join(c if c.isalnum() or c == " " else "\\" + c for c in value)
