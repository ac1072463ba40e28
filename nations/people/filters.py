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

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Consent, CustomField, ListMembership, Person, Segment, Tag, Tagging

DATE_OPS = ("after", "before", "within_days", "more_than_days_ago", "empty", "not_empty")
TEXT_OPS = ("eq", "neq", "contains", "startswith", "empty", "not_empty")
NUMBER_OPS = ("eq", "neq", "gte", "lte", "empty", "not_empty")
COUNTER_OPS = ("eq", "neq", "gte", "lte")  # never empty: counters and totals start at 0
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
    "donations_total": ("money", COUNTER_OPS),
    "donations_count": ("number", COUNTER_OPS),
    "last_donation_at": ("date", DATE_OPS),
    # A gift (paid, not refunded in full, not lost in a dispute) dated in a window: EXISTS on
    # donations. "donated_between" takes [from, to] (ISO dates, both included); not in the builder.
    "gift_at": ("date", ("within_days", "after", "before")),
    "donated_between": ("period", ("between",)),
    # The total of the gifts (net of refunds) in a rolling or calendar period: a correlated sum
    # on donations, in the same single query.
    "given_12_months": ("money", COUNTER_OPS),
    "given_this_year": ("money", COUNTER_OPS),
    "email_consent": ("consent", CONSENT_OPS),
    "sms_consent": ("consent", CONSENT_OPS),
    "phone_consent": ("consent", CONSENT_OPS),
    "post_consent": ("consent", CONSENT_OPS),
    "has_email": ("bool", ("is",)),
    "has_phone": ("bool", ("is",)),
    "points": ("number", COUNTER_OPS),
}
MAX_DEPTH = 5
MAX_CONDITIONS = 100

# Operators of custom fields, by the field's kind (CustomField.Kind).
CUSTOM_OPS: dict[str, tuple[str, ...]] = {
    "text": ("eq", "neq", "contains", "empty", "not_empty"),
    "number": ("eq", "neq", "gte", "lte", "empty", "not_empty"),
    "date": ("after", "before", "empty", "not_empty"),
    "choice": ("eq", "neq", "empty", "not_empty"),
}

# What the builder shows: sections of fields, in order, with their labels.
FIELD_GROUPS: tuple[tuple[Any, tuple[tuple[str, Any], ...]], ...] = (
    (
        gettext_lazy("Tags and lists"),
        (("tags", gettext_lazy("Tags")), ("lists", gettext_lazy("Lists"))),
    ),
    (
        gettext_lazy("Person"),
        (
            ("support_level", gettext_lazy("Support level")),
            ("first_name", gettext_lazy("First name")),
            ("last_name", gettext_lazy("Last name")),
            ("email", gettext_lazy("Email")),
            ("has_email", gettext_lazy("Has an email")),
            ("has_phone", gettext_lazy("Has a phone")),
            ("language", gettext_lazy("Language")),
            ("birthdate", gettext_lazy("Birth date")),
            ("employer", gettext_lazy("Employer")),
            ("occupation", gettext_lazy("Occupation")),
            ("points", gettext_lazy("Points")),
        ),
    ),
    (
        gettext_lazy("Location"),
        (
            ("country", gettext_lazy("Country")),
            ("region", gettext_lazy("Region")),
            ("city", gettext_lazy("City")),
            ("postal_code", gettext_lazy("Postal code")),
        ),
    ),
    (
        gettext_lazy("Activity"),
        (
            ("created_at", gettext_lazy("Added")),
            ("updated_at", gettext_lazy("Last edited")),
            ("last_activity_at", gettext_lazy("Last activity")),
        ),
    ),
    (
        gettext_lazy("Donations"),
        (
            ("donated", gettext_lazy("Has donated")),
            ("donations_total", gettext_lazy("Total donated")),
            ("donations_count", gettext_lazy("Number of gifts")),
            ("last_donation_at", gettext_lazy("Last gift")),
            ("given_12_months", gettext_lazy("Total given in the last 12 months")),
            ("given_this_year", gettext_lazy("Total given this year")),
            ("gift_at", gettext_lazy("Gave a gift")),
        ),
    ),
    (
        gettext_lazy("Consent"),
        (
            ("email_consent", gettext_lazy("Email consent")),
            ("sms_consent", gettext_lazy("SMS consent")),
            ("phone_consent", gettext_lazy("Phone call consent")),
            ("post_consent", gettext_lazy("Post consent")),
        ),
    ),
)
FIELD_LABELS: dict[str, Any] = {
    name: label for _g, fields in FIELD_GROUPS for name, label in fields
}

OP_LABELS: dict[str, Any] = {
    "any": gettext_lazy("has any of"),
    "all": gettext_lazy("has all of"),
    "none": gettext_lazy("has none of"),
    "eq": gettext_lazy("is"),
    "neq": gettext_lazy("is not"),
    "contains": gettext_lazy("contains"),
    "startswith": gettext_lazy("starts with"),
    "gte": gettext_lazy("is at least"),
    "lte": gettext_lazy("is at most"),
    "after": gettext_lazy("is after"),
    "before": gettext_lazy("is before"),
    "within_days": gettext_lazy("in the last … days"),
    "more_than_days_ago": gettext_lazy("more than … days ago"),
    "empty": gettext_lazy("is empty"),
    "not_empty": gettext_lazy("is not empty"),
    "is": gettext_lazy("is"),
}


def field_spec(name: str) -> tuple[str, tuple[str, ...], CustomField | None]:
    """(kind, operators, custom field or None) of a builder field; FilterError if unknown.

    Custom fields are named `custom:<slug>` and take their kind from the CustomField row."""
    if isinstance(name, str) and name.startswith("custom:"):
        field = CustomField.objects.filter(slug=name[len("custom:") :]).first()
        if field is None:
            raise FilterError(_("Unknown custom field: %(field)s") % {"field": name[7:]})
        return f"custom_{field.kind}", CUSTOM_OPS.get(field.kind, CUSTOM_OPS["text"]), field
    if name not in FIELDS:
        raise FilterError(_("Unknown field: %(field)s") % {"field": name})
    kind, ops = FIELDS[name]
    return kind, ops, None


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
    segment_or_definition: Segment | dict | None, base: QuerySet[Person] | None = None
) -> QuerySet[Person]:
    """The people of a segment (a saved Segment or a bare definition), erased people excluded.

    One lazy queryset: count it, page it, or use it as a subquery (blasts, exports, bulk
    actions). An empty definition means everybody. Raises FilterError for an invalid one."""
    definition = (
        segment_or_definition.definition
        if isinstance(segment_or_definition, Segment)
        else segment_or_definition
    )
    people = base if base is not None else Person.objects.all()
    return people.filter(compile_definition(definition)).filter(is_erased=False)


def segment_count(segment_or_definition: Segment | dict | None) -> int:
    """How many people a segment holds: one `SELECT count(*)`."""
    return segment_people(segment_or_definition).order_by().count()


def compile_condition(condition: dict[str, Any]) -> Q:
    name = condition.get("field", "")
    op = condition.get("op", "")
    value = condition.get("value")
    kind, ops, custom = field_spec(name)
    if op not in ops:
        label = custom.label if custom else FIELD_LABELS.get(name, name)
        raise FilterError(_("Unknown operator %(op)s for %(field)s") % {"op": op, "field": label})
    if custom is not None:
        return _custom(custom, op, value)
    if kind == "tags":
        return _tags(op, value)
    if kind == "lists":
        ids = _int_list(value)
        if not ids:
            raise FilterError(_("Pick a list."))
        exists = Exists(
            ListMembership.objects.filter(person=OuterRef("pk"), people_list_id__in=ids)
        )
        return Q(exists) if op == "any" else ~Q(exists)
    if kind == "bool":
        truth = _truth(value)
        q = {
            "donated": Q(donations_count__gt=0),
            "has_email": ~Q(email=""),
            "has_phone": ~Q(phone=""),
        }[name]
        return q if truth else ~q
    if kind == "consent":
        if value not in Consent.values:
            raise FilterError(_("Pick a consent status."))
        return Q(**{name: value}) if op == "eq" else ~Q(**{name: value})
    if name in ("gift_at", "donated_between"):
        return _gift_in_period(op, value)
    if name in ("given_12_months", "given_this_year"):
        return _given_in_period(name, op, value)
    if kind == "date":
        return _date(name, op, value)
    if kind in ("number", "money"):
        return _number(name, op, value, money=kind == "money")
    return _text(name, op, value)


def _truth(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(value, list):
        return bool(value) and _truth(value[0])
    return bool(value)


def _tags(op: str, value: Any) -> Q:
    names = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str) and v]
    if not names:
        raise FilterError(_("Pick at least one tag."))
    if op == "all":
        q = Q()
        for name in names:
            tag_ids = Tag.objects.filter(name=name).values("pk")
            q &= Q(Exists(Tagging.objects.filter(person=OuterRef("pk"), tag_id__in=tag_ids)))
        return q
    # tag_id IN (subquery) rather than a join on the tag's name: the planner then probes the
    # (tag, person) index directly, which keeps a tag filter cheap at a million people.
    tag_ids = Tag.objects.filter(name__in=names).values("pk")
    exists = Exists(Tagging.objects.filter(person=OuterRef("pk"), tag_id__in=tag_ids))
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
    lookup = {"eq": "iexact", "neq": "iexact", "contains": "icontains", "startswith": "startswith"}[
        op
    ]
    if name in ("country", "language"):
        # Stored as codes ("FR", "fr"): an exact match keeps their btree index usable.
        text = text.upper() if name == "country" else text.lower()
        lookup = "exact" if op in ("eq", "neq") else lookup
    if name == "postal_code":
        text = text.replace(" ", "").upper()
        lookup = "exact" if op == "eq" else lookup
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


def _gift_in_period(op: str, value: Any) -> Q:
    from nations.donations.models import COUNTED, Donation  # the donations app owns the table

    if op == "between":
        values = value if isinstance(value, list) else str(value or "").split("..")
        if len(values) != 2:
            raise FilterError(_("Enter two dates."))
        start, end = (_parse_date(v) for v in values)
        if end < start:
            start, end = end, start
        window = Q(paid_at__date__gte=start, paid_at__date__lte=end)
    elif op == "within_days":
        try:
            days = int(value)
        except (TypeError, ValueError) as exc:
            raise FilterError(_("Enter a number of days.")) from exc
        window = Q(paid_at__gte=timezone.now() - timedelta(days=days))
    elif op == "after":
        window = Q(paid_at__date__gt=_parse_date(value))
    else:
        window = Q(paid_at__date__lt=_parse_date(value))
    gifts = Donation.objects.filter(COUNTED, window, person=OuterRef("pk")).exclude(
        refunded_amount__gte=F("amount")
    )
    return Q(Exists(gifts))


def _given_in_period(name: str, op: str, value: Any) -> Q:
    """Total given (counted gifts, net of refunds) since a date, compared with an amount typed
    in units; people who gave nothing in the period have a total of 0."""
    from django.db.models import IntegerField, Subquery, Sum, Value
    from django.db.models.functions import Coalesce
    from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThanOrEqual

    from nations.donations.models import COUNTED, Donation

    try:
        amount = round(float(value) * 100)
    except (TypeError, ValueError) as exc:
        raise FilterError(_("Enter a number.")) from exc
    now = timezone.localtime()
    if name == "given_this_year":
        since = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        since = now - timedelta(days=365)
    gifts = (
        Donation.objects.filter(COUNTED, person=OuterRef("pk"), paid_at__gte=since)
        .order_by()
        .values("person")
        .annotate(net=Sum(F("amount") - F("refunded_amount")))
        .values("net")
    )
    total = Coalesce(Subquery(gifts), Value(0), output_field=IntegerField())
    if op == "gte":
        return Q(GreaterThanOrEqual(total, amount))
    if op == "lte":
        return Q(LessThanOrEqual(total, amount))
    return Q(Exact(total, amount)) if op == "eq" else ~Q(Exact(total, amount))


def _parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise FilterError(_("Enter a date as YYYY-MM-DD.")) from exc


def _custom(field: CustomField, op: str, value: Any) -> Q:
    slug = field.slug
    key = f"custom__{slug}"
    if op == "empty":
        return ~Q(**{"custom__has_key": slug}) | Q(custom__contains={slug: ""})
    if op == "not_empty":
        return Q(**{"custom__has_key": slug}) & ~Q(custom__contains={slug: ""})
    if isinstance(value, list):
        value = value[0] if value else ""
    if field.kind == CustomField.Kind.NUMBER:
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise FilterError(_("Enter a number.")) from exc
        if number.is_integer():
            number = int(number)
        if op in ("gte", "lte"):
            return Q(**{f"{key}__{op}": number})
        q = Q(custom__contains={slug: number})  # jsonb @> : served by the GIN index
        return q if op == "eq" else ~q
    if field.kind == CustomField.Kind.DATE:
        when = _parse_date(value).isoformat()  # stored ISO dates compare as strings
        return Q(**{f"{key}__lt": when}) if op == "before" else Q(**{f"{key}__gt": when})
    text = str(value if value is not None else "").strip()
    if not text:
        raise FilterError(_("Enter a value."))
    if op == "contains":
        return Q(**{f"{key}__icontains": text})
    q = Q(custom__contains={slug: text})
    return q if op == "eq" else ~q


def source_people(source: dict) -> QuerySet[Person]:
    """The people a bulk action aims at: {"definition": {...}} (a segment, as it was when the
    action was asked for), {"segment": id}, {"list": id} or {"people": [ids]}."""
    if "definition" in source:
        return segment_people(source["definition"])
    if "segment" in source:
        segment = Segment.objects.filter(pk=source["segment"]).first()
        if segment is None:
            raise FilterError(_("This segment no longer exists."))
        return segment_people(segment)
    if "list" in source:
        return Person.objects.filter(
            is_erased=False, list_memberships__people_list_id=source["list"]
        )
    if "people" in source:
        return Person.objects.filter(is_erased=False, pk__in=_int_list(source["people"]))
    raise FilterError(_("Nobody was chosen."))
