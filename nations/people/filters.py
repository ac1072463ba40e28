"""Segment definitions -> one SQL query.

A definition is JSON, saved on Segment.definition and built by the panel's filter builder:

    {"match": "all" | "any", "negate": false, "conditions": [CONDITION | {"group": DEFINITION}]}

    CONDITION = {"field": NAME, "op": OP, "value": VALUE}

Fields and their operators are listed in FIELDS below. `compile_definition` turns a definition
into a Q object (EXISTS subqueries for tags and lists), so counting a segment is one
`SELECT count(*)` and using it as an audience is one query, never a loop in Python.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Consent, CustomField, ListMembership, Person, Tagging

DATE_OPS = ("after", "before", "within_days", "more_than_days_ago", "empty", "not_empty")
TEXT_OPS = ("eq", "neq", "contains", "startswith", "empty", "not_empty")
NUMBER_OPS = ("eq", "neq", "gte", "lte", "empty", "not_empty")
CONSENT_OPS = ("eq", "neq")

FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    # name: (kind, operators)
    "tags": ("tags", ("any", "all", "none")),
    "lists": ("lists", ("any", "none")),
    "support_level": ("number", NUMBER_OPS),
    "country": ("text", TEXT_OPS),
    "city": ("text", TEXT_OPS),
    "postal_code": ("text", ("startswith", "eq", "empty", "not_empty")),
    "region": ("text", TEXT_OPS),
    "language": ("text", ("eq", "neq", "empty", "not_empty")),
    "first_name": ("text", TEXT_OPS),
    "last_name": ("text", TEXT_OPS),
    "email": ("text", TEXT_OPS),
    "employer": ("text", TEXT_OPS),
    "occupation": ("text", TEXT_OPS),
    "created_at": ("date", DATE_OPS),
    "updated_at": ("date", DATE_OPS),
    "last_activity_at": ("date", DATE_OPS),
    "birthdate": ("date", DATE_OPS),
    "donated": ("bool", ("is",)),
    "donations_total": ("money", NUMBER_OPS),
    "donations_count": ("number", NUMBER_OPS),
    "last_donation_at": ("date", DATE_OPS),
    "email_consent": ("consent", CONSENT_OPS),
    "sms_consent": ("consent", CONSENT_OPS),
    "phone_consent": ("consent", CONSENT_OPS),
    "post_consent": ("consent", CONSENT_OPS),
    "has_email": ("bool", ("is",)),
    "has_phone": ("bool", ("is",)),
    "points": ("number", NUMBER_OPS),
}
MAX_DEPTH = 5
MAX_CONDITIONS = 100


class FilterError(ValueError):
    """A definition the builder should not have produced; the message is for the user."""


def compile_definition(definition: dict | None, *, _depth: int = 0) -> Q:
    if not definition:
        return Q()
    if _depth > MAX_DEPTH:
        raise FilterError(_("Groups are nested too deeply."))
    conditions = definition.get("conditions") or []
    if not isinstance(conditions, list) or len(conditions) > MAX_CONDITIONS:
        raise FilterError(_("Too many conditions."))
    match = definition.get("match", "all")
    if match not in ("all", "any"):
        raise FilterError(_("Unknown match mode."))
    parts = []
    for condition in conditions:
        if not isinstance(condition, dict):
            raise FilterError(_("A condition is malformed."))
        if "group" in condition:
            parts.append(compile_definition(condition["group"], _depth=_depth + 1))
        else:
            parts.append(compile_condition(condition))
    combined = Q()
    for part in parts:
        combined = (combined & part) if match == "all" else (combined | part)
    if definition.get("negate"):
        combined = ~combined if parts else Q(pk__in=[])
    return combined


def segment_people(
    definition: dict | None, base: QuerySet[Person] | None = None
) -> QuerySet[Person]:
    people = base if base is not None else Person.objects.all()
    return people.filter(compile_definition(definition)).filter(is_erased=False)


def segment_count(definition: dict | None) -> int:
    return segment_people(definition).order_by().count()


def compile_condition(condition: dict[str, Any]) -> Q:
    name = condition.get("field", "")
    op = condition.get("op", "")
    value = condition.get("value")
    if isinstance(name, str) and name.startswith("custom:"):
        return _custom(name[len("custom:") :], op, value)
    if name not in FIELDS:
        raise FilterError(_("Unknown field: %(field)s") % {"field": name})
    kind, ops = FIELDS[name]
    if op not in ops:
        raise FilterError(_("Unknown operator %(op)s for %(field)s") % {"op": op, "field": name})
    if kind == "tags":
        return _tags(op, value)
    if kind == "lists":
        ids = _int_list(value)
        exists = Exists(
            ListMembership.objects.filter(person=OuterRef("pk"), people_list_id__in=ids)
        )
        return Q(exists) if op == "any" else ~Q(exists)
    if kind == "bool":
        truth = bool(value) if not isinstance(value, str) else value.lower() in ("1", "true", "yes")
        q = {
            "donated": Q(donations_count__gt=0),
            "has_email": ~Q(email=""),
            "has_phone": ~Q(phone=""),
        }[name]
        return q if truth else ~q
    if kind == "consent":
        if value not in Consent.values:
            raise FilterError(_("Unknown consent status."))
        return Q(**{name: value}) if op == "eq" else ~Q(**{name: value})
    if kind == "date":
        return _date(name, op, value)
    if kind in ("number", "money"):
        return _number(name, op, value, money=kind == "money")
    return _text(name, op, value)


def _tags(op: str, value: Any) -> Q:
    names = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str) and v]
    if not names:
        raise FilterError(_("Pick at least one tag."))
    if op == "all":
        q = Q()
        for name in names:
            q &= Q(Exists(Tagging.objects.filter(person=OuterRef("pk"), tag__name=name)))
        return q
    exists = Exists(Tagging.objects.filter(person=OuterRef("pk"), tag__name__in=names))
    return Q(exists) if op == "any" else ~Q(exists)


def _int_list(value: Any) -> list[int]:
    values = value if isinstance(value, list) else [value]
    try:
        return [int(v) for v in values if v not in (None, "")]
    except (TypeError, ValueError) as exc:
        raise FilterError(_("Pick a list.")) from exc


def _text(name: str, op: str, value: Any) -> Q:
    if op == "empty":
        return Q(**{name: ""})
    if op == "not_empty":
        return ~Q(**{name: ""})
    text = str(value or "").strip()
    if not text:
        raise FilterError(_("Enter a value."))
    if name in ("country",):
        text = text.upper()
    lookup = {"eq": "iexact", "neq": "iexact", "contains": "icontains", "startswith": "startswith"}[
        op
    ]
    if name == "postal_code" and op == "startswith":
        text = text.replace(" ", "").upper()
    q = Q(**{f"{name}__{lookup}": text})
    return ~q if op == "neq" else q


def _number(name: str, op: str, value: Any, *, money: bool) -> Q:
    if op == "empty":
        return Q(**{f"{name}__isnull": True})
    if op == "not_empty":
        return Q(**{f"{name}__isnull": False})
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise FilterError(_("Enter a number.")) from exc
    if money:
        number = round(number * 100)  # amounts are typed in units, stored in minor units
    else:
        number = int(number) if float(number).is_integer() else number
    q = {
        "eq": Q(**{name: number}),
        "neq": ~Q(**{name: number}),
        "gte": Q(**{f"{name}__gte": number}),
        "lte": Q(**{f"{name}__lte": number}),
    }[op]
    return q


def _date(name: str, op: str, value: Any) -> Q:
    if op == "empty":
        return Q(**{f"{name}__isnull": True})
    if op == "not_empty":
        return Q(**{f"{name}__isnull": False})
    if op in ("within_days", "more_than_days_ago"):
        try:
            days = int(value)
        except (TypeError, ValueError) as exc:
            raise FilterError(_("Enter a number of days.")) from exc
        since = timezone.now() - timedelta(days=days)
        if name == "birthdate":
            since = since.date()
        return Q(**{f"{name}__gte": since}) if op == "within_days" else Q(**{f"{name}__lt": since})
    when = _parse_date(value)
    if name == "birthdate":
        return Q(**{f"{name}__gt": when}) if op == "after" else Q(**{f"{name}__lt": when})
    start = timezone.make_aware(datetime.combine(when, datetime.min.time()))
    if op == "after":
        return Q(**{f"{name}__gte": start + timedelta(days=1)})
    return Q(**{f"{name}__lt": start})


def _parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise FilterError(_("Enter a date as YYYY-MM-DD.")) from exc


def _custom(slug: str, op: str, value: Any) -> Q:
    field = CustomField.objects.filter(slug=slug).first()
    if field is None:
        raise FilterError(_("Unknown custom field: %(field)s") % {"field": slug})
    key = f"custom__{slug}"
    if op == "empty":
        return ~Q(**{"custom__has_key": slug})
    if op == "not_empty":
        return Q(**{"custom__has_key": slug})
    if field.kind == CustomField.Kind.NUMBER:
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise FilterError(_("Enter a number.")) from exc
        if op in ("gte", "lte"):
            return Q(**{f"{key}__{op}": number})
        return (
            Q(custom__contains={slug: number})
            if op == "eq"
            else ~Q(custom__contains={slug: number})
        )
    if field.kind == CustomField.Kind.DATE and op in ("before", "after"):
        when = _parse_date(value).isoformat()
        return Q(**{f"{key}__lt": when}) if op == "before" else Q(**{f"{key}__gt": when})
    if op == "eq":
        return Q(custom__contains={slug: value})  # jsonb @> : served by the GIN index
    if op == "neq":
        return ~Q(custom__contains={slug: value})
    if op == "contains":
        return Q(**{f"{key}__icontains": str(value)})
    raise FilterError(_("Unknown operator %(op)s for %(field)s") % {"op": op, "field": slug})
