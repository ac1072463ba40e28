"""Reads of the supporter base shared by the panel, exports, messages and the API."""

from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from .models import Person
from .normalise import fold


def people_search(query: str, base: QuerySet[Person] | None = None) -> QuerySet[Person]:
    """People whose name, email or phone matches `query`, accents and case ignored, with typos
    tolerated (trigram word similarity). Best matches first."""
    people = base if base is not None else Person.objects.all()
    q = fold(query)
    if not q:
        return people
    digits = "".join(c for c in q if c.isdigit())
    if "@" in q or (digits and len(digits) >= 6 and len(digits) >= len(q.replace(" ", "")) - 1):
        needle = digits if "@" not in q else q
        return people.filter(search_text__contains=needle)
    # `<%` is word similarity (pg_trgm): "helen dupond" finds "hélène dupont"; the trigram GIN
    # index serves both it and the substring match.
    return (
        people.extra(
            where=["(search_text LIKE %s OR %s <%% search_text)"],
            params=[f"%{_escape_like(q)}%", q],
        )
        .annotate(_rank=RawSQL("word_similarity(%s, search_text)", (q,)))
        .order_by("-_rank", "-id")
    )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
