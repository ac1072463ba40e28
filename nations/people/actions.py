"""Every change to the supporter base goes through these functions.

The panel, the CSV import, the site's forms, donations, messages and the API all call them, so
matching, consent rules and the timeline behave the same whatever the door a person came in by.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, QuerySet, UniqueConstraint
from django.utils import timezone

from .models import (
    Activity,
    Channel,
    Consent,
    ContactLog,
    CustomField,
    DuplicateDismissal,
    ListMembership,
    Merge,
    Note,
    PeopleList,
    Person,
    PersonEmail,
    PersonPhone,
    Tag,
    Tagging,
    Tombstone,
)
from .normalise import clean_email, clean_phone, search_text

# Fields a form, an import or the API may set directly on a person.
PERSON_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "address1",
    "address2",
    "city",
    "postal_code",
    "region",
    "country",
    "birthdate",
    "language",
    "employer",
    "occupation",
    "support_level",
    "external_id",
)
CONSENT_FIELD = {
    Channel.EMAIL: "email_consent",
    Channel.SMS: "sms_consent",
    Channel.PHONE: "phone_consent",
    Channel.POST: "post_consent",
}


class PersonErased(Exception):
    """This email or phone belongs to an erased person; only they can come back, by signing up."""


@dataclass(frozen=True)
class Actor:
    """Who did it, for the timeline: a staff user, or a process ("import #3", "signup page")."""

    user_id: int | None = None
    name: str = ""


SYSTEM = Actor()


def identity_hash(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


# Points for actions a person takes themself: signing, RSVPing, giving, or answering any other
# page of the site (signup, volunteer, survey). Recruiting someone earns one too (person_upsert).
# What staff or an import records about a person earns nothing.
ACTION_POINTS = {Activity.Kind.SIGNED: 1, Activity.Kind.RSVP: 1, Activity.Kind.DONATED: 1}


def action_points(kind: str, data: dict | None) -> int:
    if kind in ACTION_POINTS:
        return ACTION_POINTS[kind]
    if kind == Activity.Kind.OTHER and str((data or {}).get("source", "")).startswith("page:"):
        return 1
    return 0


def activity_record(
    *,
    person: Person,
    kind: str,
    summary: str = "",
    data: dict | None = None,
    actor: Actor = SYSTEM,
    at=None,
) -> Activity:
    """One timeline line; sets the person's last activity, and adds the points the action
    earns (action_points)."""
    at = at or timezone.now()
    points = action_points(kind, data)
    extra = {"points": F("points") + points} if points else {}
    Person.objects.filter(pk=person.pk).update(last_activity_at=at, **extra)
    return Activity.objects.create(
        person=person,
        kind=kind,
        summary=summary[:300],
        data=data or {},
        actor_id=actor.user_id,
        actor_name=actor.name,
        at=at,
    )


def refresh_search_text(person: Person) -> None:
    emails = list(person.emails.values_list("address", flat=True))
    phones = list(person.phones.values_list("number", flat=True))
    person.search_text = search_text(
        first_name=person.first_name,
        middle_name=person.middle_name,
        last_name=person.last_name,
        emails=emails,
        phones=phones,
    )
    Person.objects.filter(pk=person.pk).update(search_text=person.search_text)


def find_match(*, email: str = "", phone: str = "", external_id: str = "") -> Person | None:
    """The person an incoming record is about: by external id, else email, else phone."""
    if external_id:
        found = Person.objects.filter(external_id=external_id).first()
        if found:
            return found
    if email:
        found = _match_by(PersonEmail, "email", "address", email)
        if found:
            return found
    if phone:
        return _match_by(PersonPhone, "phone", "number", phone)
    return None


def _match_by(model, person_column: str, column: str, value: str) -> Person | None:
    """The person whose primary `person_column` is `value`, else the first with it among their
    other addresses/numbers: one statement (a signature's hot path asks this for everyone new),
    then the person's row only when there is a match."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM ((SELECT id, 0 AS rank FROM {Person._meta.db_table}"
            f" WHERE {person_column} = %s ORDER BY id LIMIT 1) UNION ALL"
            f" (SELECT person_id, 1 FROM {model._meta.db_table} WHERE {column} = %s"
            " ORDER BY person_id LIMIT 1)) m ORDER BY rank LIMIT 1",
            [value, value],
        )
        row = cursor.fetchone()
    return Person.objects.filter(pk=row[0]).first() if row else None


def is_tombstoned(*, email: str = "", phone: str = "") -> bool:
    hashes = [identity_hash(v) for v in (email, phone) if v]
    if not hashes:
        return False
    return (
        Tombstone.objects.filter(email_hash__in=hashes).exists()
        or Tombstone.objects.filter(phone_hash__in=hashes).exists()
    )


@transaction.atomic
def person_upsert(
    *,
    data: dict[str, Any],
    source: str,
    actor: Actor = SYSTEM,
    email: str = "",
    phone: str = "",
    overwrite: bool = False,
    tags: Iterable[str] = (),
    consents: dict[str, tuple[str, str]] | None = None,
    recruiter: Person | None = None,
    self_signup: bool = False,
    activity_kind: str = Activity.Kind.CREATED,
    activity_summary: str = "",
    default_region: str = "FR",
) -> tuple[Person, bool]:
    """Create or update the person this record is about; returns (person, created).

    Matches by external id, then email, then phone. An existing person's filled fields are kept
    unless `overwrite` (better data is never replaced by emptier data: blanks never overwrite).
    `consents` maps channel -> (status, wording shown); a withdrawal is only undone by the
    person themself (`self_signup`), never by an import. Raises ValidationError for a bad email
    or phone and PersonErased for an erased person's email/phone unless `self_signup`."""
    email = clean_email(email) if email else ""
    number, kind = clean_phone(phone, default_region=default_region) if phone else ("", "")
    if not self_signup and is_tombstoned(email=email, phone=number):
        raise PersonErased(email or number)
    if self_signup:  # they came back themself: their identity is no longer erased
        _tombstones_lift(email=email, phone=number)
    fields = {k: v for k, v in data.items() if k in PERSON_FIELDS and v not in (None, "")}
    person = find_match(email=email, phone=number, external_id=fields.get("external_id", ""))
    created = person is None
    now = timezone.now()
    if created:
        person = _person_insert(
            fields=fields,
            email=email,
            number=number,
            phone_kind=kind,
            now=now,
            source=source,
            actor=actor,
            tags=tags,
            consents=consents or {},
            by_person=self_signup,
            recruiter=recruiter,
            activity_kind=activity_kind,
            activity_summary=activity_summary,
        )
        return person, True
    else:
        changes = {}
        for name, value in fields.items():
            current = getattr(person, name)
            if current in (None, "") or (overwrite and current != value):
                changes[name] = [_json(current), _json(value)]
                setattr(person, name, value)
        if recruiter and person.recruiter_id is None and recruiter.pk != person.pk:
            person.recruiter = recruiter
            changes["recruiter"] = [None, recruiter.pk]
        if not person.email and email:
            person.email = email
        if not person.phone and number:
            person.phone = number
        person.updated_at = now
        person.save()
    if email:
        _email_attach(person, email)
    if number:
        _phone_attach(person, number, kind)
    refresh_search_text(person)
    if created:
        activity_record(
            person=person,
            kind=activity_kind,
            summary=activity_summary or source,
            data={"source": source},
            actor=actor,
            at=now,
        )
        if recruiter:
            Person.objects.filter(pk=recruiter.pk).update(points=F("points") + 1)
            activity_record(
                person=recruiter,
                kind=Activity.Kind.RECRUITED,
                summary=str(person),
                data={"recruit": person.pk},
                actor=actor,
            )
    elif changes:
        activity_record(
            person=person,
            kind=Activity.Kind.UPDATED,
            summary=source,
            data={"source": source, "changes": changes},
            actor=actor,
            at=now,
        )
    for channel, (status, wording) in (consents or {}).items():
        consent_set(
            person=person,
            channel=channel,
            status=status,
            source=source,
            wording=wording,
            actor=actor,
            by_person=self_signup,
        )
    if tags:
        person_tag(person=person, names=tags, actor=actor)
    return person, created


def _json(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _person_insert(
    *,
    fields: dict[str, Any],
    email: str,
    number: str,
    phone_kind: str,
    now,
    source: str,
    actor: Actor,
    tags: Iterable[str],
    consents: dict[str, tuple[str, str]],
    by_person: bool,
    recruiter: Person | None,
    activity_kind: str,
    activity_summary: str,
) -> Person:
    """person_upsert for someone new: the rows the general path writes (person, email, phone,
    consent history, tags, timeline, recruiter's credit), in one statement for the common case.
    Nothing needs re-reading for a person who did not exist: the search text, the consent
    fields and the primary flags are known before the INSERT. (A signature form's hot path: the
    ORM compiling five INSERTs cost more than the database doing them.)"""
    from django.db import connection
    from django.db.backends.postgresql.psycopg_any import Jsonb

    person = Person(
        **fields,
        email=email,
        phone=number,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
        recruiter=recruiter,
    )
    person.search_text = search_text(
        first_name=person.first_name,
        middle_name=person.middle_name,
        last_name=person.last_name,
        emails=[email] if email else [],
        phones=[number] if number else [],
    )
    timeline = [(activity_kind, (activity_summary or source)[:300], {"source": source})]
    person.points = action_points(activity_kind, {"source": source})
    changes = []
    for channel, (status, wording) in consents.items():  # consent_set's rules, on a new person
        field = CONSENT_FIELD[Channel(channel)]
        current = getattr(person, field)
        if current == status or (
            current == Consent.WITHDRAWN and status == Consent.GRANTED and not by_person
        ):
            continue
        setattr(person, field, status)
        changes.append((str(channel), str(status), wording))
        data = {"channel": channel, "status": status, "source": source, "wording": wording}
        timeline.append((Activity.Kind.CONSENT, f"{channel}: {status}", data))
    names = sorted({" ".join(n.split())[:100] for n in tags if n and n.strip()})
    columns, params = [], {}
    for field in Person._meta.concrete_fields:
        if not field.primary_key:
            columns.append(field.column)
            value = field.get_db_prep_save(field.pre_save(person, True), connection)
            params[f"f{len(columns)}"] = value
    params.update(
        email=email,
        number=number,
        kind=phone_kind or "unknown",
        now=now,
        source=source,
        channels=[c[0] for c in changes],
        statuses=[c[1] for c in changes],
        wordings=[c[2] for c in changes],
        tags=names,
        kinds=[str(t[0]) for t in timeline],
        summaries=[t[1] for t in timeline],
        datas=[Jsonb(t[2]) for t in timeline],
        actor_id=actor.user_id,
        actor_name=actor.name,
    )
    with connection.cursor() as cursor:
        cursor.execute(_person_insert_sql(tuple(columns), bool(email), bool(number)), params)
        person.pk, found = cursor.fetchone()
    person._state.adding, person._state.db = False, connection.alias
    missing = sorted(set(names) - set(found or []))
    if missing:  # tags nobody has yet (a page's first signer): the general way
        person_tag(person=person, names=missing, actor=actor)
        Person.objects.filter(pk=person.pk).update(last_activity_at=now)
    if recruiter:
        Person.objects.filter(pk=recruiter.pk).update(points=F("points") + 1, last_activity_at=now)
        Activity.objects.create(
            person=recruiter,
            kind=Activity.Kind.RECRUITED,
            summary=str(person)[:300],
            data={"recruit": person.pk},
            actor_id=actor.user_id,
            actor_name=actor.name,
            at=now,
        )
    return person


_insert_sql: dict[tuple, str] = {}


def _person_insert_sql(columns: tuple[str, ...], with_email: bool, with_phone: bool) -> str:
    """One statement: the person, their email and phone, consent history, taggings (of the
    tags that exist), timeline; returns the person's id and the tags found. Built from the
    models once per shape, so new Person columns are included."""
    key = (columns, with_email, with_phone)
    if key in _insert_sql:
        return _insert_sql[key]
    from .models import ConsentChange

    table = {
        m: m._meta.db_table
        for m in (Person, PersonEmail, PersonPhone, Tag, Tagging, Activity, ConsentChange)
    }
    quoted = ", ".join(f'"{c}"' for c in columns)
    parts = [
        f"p AS (INSERT INTO {table[Person]} ({quoted})"
        f" VALUES ({', '.join(f'%(f{i})s' for i in range(1, len(columns) + 1))}) RETURNING id)"
    ]
    if with_email:
        parts.append(
            f"e AS (INSERT INTO {table[PersonEmail]} (person_id, address, is_primary, status,"
            " created_at) SELECT id, %(email)s, true, 'ok', %(now)s FROM p)"
        )
    if with_phone:
        parts.append(
            f"ph AS (INSERT INTO {table[PersonPhone]} (person_id, number, kind, is_primary,"
            " created_at) SELECT id, %(number)s, %(kind)s, true, %(now)s FROM p)"
        )
    parts += [
        f"c AS (INSERT INTO {table[ConsentChange]} (person_id, channel, status, source, wording,"
        " at) SELECT p.id, x.channel, x.status, %(source)s, x.wording, %(now)s FROM p,"
        " unnest(%(channels)s::text[], %(statuses)s::text[], %(wordings)s::text[])"
        " AS x(channel, status, wording))",
        f"tg AS (SELECT id, name FROM {table[Tag]} WHERE name = ANY(%(tags)s::text[]))",
        f"tt AS (INSERT INTO {table[Tagging]} (person_id, tag_id, created_at)"
        " SELECT p.id, tg.id, %(now)s FROM p, tg)",
        f"a AS (INSERT INTO {table[Activity]} (person_id, kind, summary, data, actor_id,"
        " actor_name, at) SELECT p.id, x.kind, x.summary, x.data, %(actor_id)s::bigint,"
        " %(actor_name)s,"
        " %(now)s FROM p, unnest(%(kinds)s::text[], %(summaries)s::text[], %(datas)s::jsonb[])"
        " WITH ORDINALITY AS x(kind, summary, data, n)"
        " UNION ALL SELECT p.id, 'tagged', t.name, '{}'::jsonb, %(actor_id)s::bigint,"
        " %(actor_name)s,"
        " %(now)s FROM p, (SELECT name FROM tg ORDER BY name) t)",
    ]
    sql = f"WITH {', '.join(parts)} SELECT (SELECT id FROM p), (SELECT array_agg(name) FROM tg)"
    _insert_sql[key] = sql
    return sql


def _email_attach(person: Person, address: str) -> None:
    has_primary = person.emails.filter(is_primary=True).exists()
    PersonEmail.objects.get_or_create(
        person=person, address=address, defaults={"is_primary": not has_primary}
    )


def _phone_attach(person: Person, number: str, kind: str) -> None:
    has_primary = person.phones.filter(is_primary=True).exists()
    PersonPhone.objects.get_or_create(
        person=person,
        number=number,
        defaults={"is_primary": not has_primary, "kind": kind or "unknown"},
    )


@transaction.atomic
def person_update(*, person: Person, changes: dict[str, Any], actor: Actor = SYSTEM) -> dict:
    """Staff edit: set the given fields, record old and new values on the timeline."""
    diff = {}
    for name, value in changes.items():
        if name not in PERSON_FIELDS and name not in ("custom", "social", "recruiter_id"):
            raise ValueError(f"{name} cannot be edited")
        current = getattr(person, name)
        if current != value:
            diff[name] = [_json(current), _json(value)]
            setattr(person, name, value)
    if diff:
        person.updated_at = timezone.now()
        person.save()
        refresh_search_text(person)
        activity_record(
            person=person,
            kind=Activity.Kind.UPDATED,
            summary="panel",
            data={"changes": diff},
            actor=actor,
        )
    return diff


@transaction.atomic
def person_email_add(
    *, person: Person, address: str, make_primary: bool = False, actor: Actor = SYSTEM
) -> PersonEmail:
    address = clean_email(address)
    item, created = PersonEmail.objects.get_or_create(person=person, address=address)
    old = person.email
    if make_primary or not person.email:
        person.emails.update(is_primary=False)
        PersonEmail.objects.filter(pk=item.pk).update(is_primary=True)
        Person.objects.filter(pk=person.pk).update(email=address, updated_at=timezone.now())
        person.email = address
    refresh_search_text(person)
    if created or old != person.email:
        change = [old or None, address] if old != person.email else [None, address]
        activity_record(
            person=person,
            kind=Activity.Kind.UPDATED,
            summary="panel",
            data={"changes": {"email" if old != person.email else "emails": change}},
            actor=actor,
        )
    return item


@transaction.atomic
def person_phone_add(
    *,
    person: Person,
    number: str,
    make_primary: bool = False,
    actor: Actor = SYSTEM,
    default_region: str = "FR",
) -> PersonPhone:
    e164, kind = clean_phone(number, default_region=default_region)
    item, created = PersonPhone.objects.get_or_create(
        person=person, number=e164, defaults={"kind": kind}
    )
    old = person.phone
    if make_primary or not person.phone:
        person.phones.update(is_primary=False)
        PersonPhone.objects.filter(pk=item.pk).update(is_primary=True)
        Person.objects.filter(pk=person.pk).update(phone=e164, updated_at=timezone.now())
        person.phone = e164
    refresh_search_text(person)
    if created or old != person.phone:
        change = [old or None, e164] if old != person.phone else [None, e164]
        activity_record(
            person=person,
            kind=Activity.Kind.UPDATED,
            summary="panel",
            data={"changes": {"phone" if old != person.phone else "phones": change}},
            actor=actor,
        )
    return item


def tags_ensure(names: Iterable[str]) -> list[Tag]:
    clean = sorted({" ".join(n.split())[:100] for n in names if n and n.strip()})
    existing = {t.name: t for t in Tag.objects.filter(name__in=clean)}
    for name in clean:
        if name not in existing:
            try:
                with transaction.atomic():
                    existing[name] = Tag.objects.create(name=name)
            except IntegrityError:
                existing[name] = Tag.objects.get(name=name)
    return [existing[n] for n in clean]


@transaction.atomic
def person_tag(
    *, person: Person, names: Iterable[str], actor: Actor = SYSTEM, data: dict | None = None
) -> list[Tag]:
    """`data` goes on the timeline entries (automations mark the entries their steps cause)."""
    added = []
    for tag in tags_ensure(names):
        _, created = Tagging.objects.get_or_create(person=person, tag=tag)
        if created:
            added.append(tag)
            activity_record(
                person=person, kind=Activity.Kind.TAGGED, summary=tag.name, data=data, actor=actor
            )
    return added


@transaction.atomic
def person_untag(
    *, person: Person, names: Iterable[str], actor: Actor = SYSTEM, data: dict | None = None
) -> int:
    removed = 0
    for tag in Tag.objects.filter(name__in=list(names)):
        deleted, _ = Tagging.objects.filter(person=person, tag=tag).delete()
        if deleted:
            removed += 1
            activity_record(
                person=person, kind=Activity.Kind.UNTAGGED, summary=tag.name, data=data, actor=actor
            )
    return removed


def people_tag_bulk(
    *,
    people: QuerySet[Person],
    tag_name: str,
    actor: Actor = SYSTEM,
    remove: bool = False,
    data: dict | None = None,
) -> int:
    """Tag (or untag) every person of a queryset with set-based SQL: one statement for the
    taggings, one for the timeline, however many people. Returns how many changed. `data` goes
    on the timeline entries (automations mark the entries their steps cause)."""
    import json

    from django.db import connection

    data_json = json.dumps(data or {})
    [tag] = tags_ensure([tag_name])
    person_sql, params = people.values("id").query.sql_with_params()
    now = timezone.now()
    kind = Activity.Kind.UNTAGGED if remove else Activity.Kind.TAGGED
    with transaction.atomic(), connection.cursor() as cursor:
        if remove:
            cursor.execute(
                f"WITH changed AS (DELETE FROM people_tagging WHERE tag_id = %s AND person_id IN ({person_sql})"
                " RETURNING person_id) "
                "INSERT INTO people_activity (person_id, kind, summary, data, actor_id, actor_name, at)"
                " SELECT person_id, %s, %s, %s::jsonb, %s, %s, %s FROM changed",
                [tag.pk, *params, kind, tag.name, data_json, actor.user_id, actor.name, now],
            )
        else:
            cursor.execute(
                "WITH changed AS (INSERT INTO people_tagging (person_id, tag_id, created_at)"
                f" SELECT id, %s, %s FROM ({person_sql}) p ON CONFLICT DO NOTHING RETURNING person_id) "
                "INSERT INTO people_activity (person_id, kind, summary, data, actor_id, actor_name, at)"
                " SELECT person_id, %s, %s, %s::jsonb, %s, %s, %s FROM changed",
                [tag.pk, now, *params, kind, tag.name, data_json, actor.user_id, actor.name, now],
            )
        return cursor.rowcount


@transaction.atomic
def list_add(
    *, people_list: PeopleList, person: Person, actor: Actor = SYSTEM, data: dict | None = None
) -> bool:
    _, created = ListMembership.objects.get_or_create(people_list=people_list, person=person)
    if created:
        activity_record(
            person=person,
            kind=Activity.Kind.LISTED,
            summary=people_list.name,
            data=data,
            actor=actor,
        )
    return created


@transaction.atomic
def list_remove(*, people_list: PeopleList, person: Person, actor: Actor = SYSTEM) -> bool:
    deleted, _ = ListMembership.objects.filter(people_list=people_list, person=person).delete()
    if deleted:
        activity_record(
            person=person, kind=Activity.Kind.UNLISTED, summary=people_list.name, actor=actor
        )
    return bool(deleted)


@transaction.atomic
def consent_set(
    *,
    person: Person,
    channel: str,
    status: str,
    source: str,
    wording: str = "",
    actor: Actor = SYSTEM,
    by_person: bool = False,
) -> bool:
    """Record a consent change with its source and the exact wording shown.

    A withdrawal (unsubscribe) stands until the person themself grants consent again
    (`by_person`): imports and staff cannot silently re-subscribe someone. Returns whether the
    status changed."""
    from .models import ConsentChange

    field = CONSENT_FIELD[Channel(channel)]
    person.refresh_from_db(fields=[field])
    current = getattr(person, field)
    if current == status:
        return False
    if current == Consent.WITHDRAWN and status == Consent.GRANTED and not by_person:
        return False
    Person.objects.filter(pk=person.pk).update(**{field: status})
    setattr(person, field, status)
    ConsentChange.objects.create(
        person=person, channel=channel, status=status, source=source, wording=wording
    )
    activity_record(
        person=person,
        kind=Activity.Kind.CONSENT,
        summary=f"{channel}: {status}",
        data={"channel": channel, "status": status, "source": source, "wording": wording},
        actor=actor,
    )
    return True


def note_add(*, person: Person, body: str, actor: Actor = SYSTEM) -> Note:
    body = body.strip()
    if not body:
        raise ValidationError("empty note")
    with transaction.atomic():
        note = Note.objects.create(
            person=person, body=body, author_id=actor.user_id, author_name=actor.name
        )
        activity_record(
            person=person,
            kind=Activity.Kind.NOTE,
            summary=body[:120],
            data={"note": note.pk},
            actor=actor,
        )
    return note


def contact_log_add(
    *, person: Person, method: str, outcome: str, notes: str = "", actor: Actor = SYSTEM
) -> ContactLog:
    with transaction.atomic():
        entry = ContactLog.objects.create(
            person=person,
            method=method,
            outcome=outcome,
            notes=notes,
            author_id=actor.user_id,
            author_name=actor.name,
        )
        activity_record(
            person=person,
            kind=Activity.Kind.CONTACT,
            summary=f"{entry.get_method_display()}: {entry.get_outcome_display()}",
            data={"contact": entry.pk},
            actor=actor,
        )
    return entry


def recruiter_code_for(person: Person) -> str:
    """The person's share code (`?recruiter=<code>`), made on first use."""
    from django.db import connection

    if person.recruiter_code:
        return person.recruiter_code
    for _ in range(5):
        code = secrets.token_urlsafe(6)
        with connection.cursor() as cursor:  # plain SQL: every signature's thank-you asks
            cursor.execute(
                f"UPDATE {Person._meta.db_table} SET recruiter_code = %s"
                " WHERE id = %s AND recruiter_code IS NULL",
                [code, person.pk],
            )
            claimed = cursor.rowcount
        if claimed:
            person.recruiter_code = code
            return code
        person.refresh_from_db(fields=["recruiter_code"])
        if person.recruiter_code:
            return person.recruiter_code
    raise RuntimeError("could not allocate a recruiter code")


def person_create(
    *,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    phone: str = "",
    actor: Actor = SYSTEM,
    source: str = "panel",
) -> Person:
    """Add a person by hand (or in tests): person_upsert without matching surprises."""
    person, _ = person_upsert(
        data={"first_name": first_name, "last_name": last_name},
        email=email,
        phone=phone,
        source=source,
        actor=actor,
    )
    return person


# --- Merge, erasure, data export and custom fields (profile part) ---------------------------

# The fields a merge fills on the survivor from the other person when the survivor's are empty.
MERGE_FILL_FIELDS = (*PERSON_FIELDS, "email", "phone")
# Consent strength: the most protective status wins a merge (a withdrawal beats a grant).
CONSENT_RANK = {Consent.WITHDRAWN: 2, Consent.GRANTED: 1, Consent.UNKNOWN: 0}


def _tombstones_lift(*, email: str = "", phone: str = "") -> int:
    from django.db import connection

    hashes = [identity_hash(v) for v in (email, phone) if v]
    if not hashes:
        return 0
    with connection.cursor() as cursor:  # one statement: every self-signup runs it
        cursor.execute(
            f"DELETE FROM {Tombstone._meta.db_table}"
            " WHERE email_hash = ANY(%s) OR phone_hash = ANY(%s)",
            [hashes, hashes],
        )
        return cursor.rowcount


def person_snapshot(person: Person) -> dict[str, Any]:
    """Every column of a person plus their emails and phones, JSON-ready (kept in Merge rows)."""
    data = {f.attname: _json(getattr(person, f.attname)) for f in Person._meta.concrete_fields}
    data["emails"] = list(person.emails.values_list("address", flat=True))
    data["phones"] = list(person.phones.values_list("number", flat=True))
    return data


def _person_relations():
    """Every foreign key pointing at Person, from any app, including the hidden ones of
    many-to-many through tables: a merge moves them all without knowing the tables."""
    return [
        rel
        for rel in Person._meta.get_fields(include_hidden=True)
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)
    ]


def _unique_sets(model, field_name: str) -> list[tuple[list[str], Any]]:
    """(other fields, condition) of each uniqueness rule on `model` that includes the FK."""
    rules: list[tuple[list[str], Any]] = []
    field = model._meta.get_field(field_name)
    if field.unique:  # one-to-one or unique FK: one row per person at most
        rules.append(([], None))
    for together in model._meta.unique_together:
        if field_name in together:
            rules.append(([f for f in together if f != field_name], None))
    for constraint in model._meta.constraints:
        fields = list(getattr(constraint, "fields", ()) or ())
        if isinstance(constraint, UniqueConstraint) and field_name in fields:
            rules.append(([f for f in fields if f != field_name], constraint.condition))
    return rules


def _move_related(rel, survivor: Person, other: Person) -> int:
    from django.db.models import Exists, OuterRef

    model = rel.related_model
    name = rel.field.name
    rows = model._base_manager.all()
    # Rows of `other` that would collide with one of the survivor's under a unique rule are
    # the same fact twice (the same tag, the same list, the same email): drop the copy.
    for others, condition in _unique_sets(model, name):
        scope = rows.filter(condition) if condition is not None else rows
        twin = scope.filter(**{name: survivor.pk}, **{f: OuterRef(f) for f in others})
        scope.filter(**{name: other.pk}).filter(Exists(twin)).delete()
    return rows.filter(**{name: other.pk}).update(**{name: survivor.pk})


@transaction.atomic
def person_merge(*, survivor: Person, other: Person, actor: Actor = SYSTEM) -> Person:
    """Fold `other` into `survivor`, then delete `other`.

    Every row of every table pointing at a person (emails, phones, tags, lists, notes, contact
    log, consent history, timeline, merges, and whatever later apps add: donations, RSVPs...)
    moves to the survivor; rows that would break a uniqueness rule are duplicates and are
    dropped. Empty fields of the survivor are filled from the other; points, donation totals
    and recruits add up; each consent channel keeps the most protective status. A Merge row keeps
    a snapshot of the other person. Raises ValueError when asked to merge a person with itself
    or an erased person."""
    if survivor.pk == other.pk:
        raise ValueError("cannot merge a person with themself")
    # Lock both rows in id order, so two merges of the same pair cannot deadlock.
    locked = {
        p.pk: p
        for p in Person.objects.select_for_update()
        .filter(pk__in=[survivor.pk, other.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise Person.DoesNotExist("one of the people to merge is gone")
    survivor, other = locked[survivor.pk], locked[other.pk]
    if survivor.is_erased or other.is_erased:
        raise ValueError("an erased person cannot be merged")
    snapshot = person_snapshot(other)
    filled: dict[str, list] = {}
    for name in MERGE_FILL_FIELDS:
        mine, theirs = getattr(survivor, name), getattr(other, name)
        if mine in (None, "") and theirs not in (None, ""):
            filled[name] = [None, _json(theirs)]
            setattr(survivor, name, theirs)
    survivor.social = {**(other.social or {}), **(survivor.social or {})}
    survivor.custom = {**(other.custom or {}), **(survivor.custom or {})}
    for field in CONSENT_FIELD.values():
        theirs = getattr(other, field)
        if CONSENT_RANK.get(theirs, 0) > CONSENT_RANK.get(getattr(survivor, field), 0):
            setattr(survivor, field, theirs)
    if survivor.recruiter_id is None and other.recruiter_id not in (None, survivor.pk):
        survivor.recruiter_id = other.recruiter_id
    if survivor.recruiter_id == other.pk:
        survivor.recruiter_id = None
    if not survivor.recruiter_code and other.recruiter_code:
        survivor.recruiter_code = other.recruiter_code  # links already shared keep working
    survivor.points += other.points
    survivor.donations_count += other.donations_count
    survivor.donations_total += other.donations_total
    survivor.first_donation_at = _earliest(survivor.first_donation_at, other.first_donation_at)
    survivor.last_donation_at = _latest(survivor.last_donation_at, other.last_donation_at)
    survivor.last_activity_at = _latest(survivor.last_activity_at, other.last_activity_at)
    survivor.created_at = _earliest(survivor.created_at, other.created_at)
    # The other's unique values move to the survivor: free them first.
    Person.objects.filter(pk=other.pk).update(external_id=None, recruiter_code=None)
    # One primary email and phone: the survivor's, unless it has none.
    if survivor.emails.filter(is_primary=True).exists():
        other.emails.update(is_primary=False)
    if survivor.phones.filter(is_primary=True).exists():
        other.phones.update(is_primary=False)
    moved = {}
    for rel in _person_relations():
        count = _move_related(rel, survivor, other)
        if count:
            moved[rel.related_model._meta.label_lower] = count
    survivor.updated_at = timezone.now()
    survivor.save()
    refresh_search_text(survivor)
    Merge.objects.create(
        survivor=survivor,
        merged_person_id=other.pk,
        merged_snapshot=snapshot,
        actor_id=actor.user_id,
    )
    other.delete()
    activity_record(
        person=survivor,
        kind=Activity.Kind.MERGED,
        summary=(str(Person(**_person_name_fields(snapshot))) or f"#{other.pk}")[:300],
        data={"merged_person_id": snapshot["id"], "filled": filled, "moved": moved},
        actor=actor,
    )
    return survivor


def duplicate_dismiss(*, person: Person, other: Person, actor: Actor = SYSTEM) -> bool:
    """Remember that `person` and `other` are not the same person, so the duplicates finder no
    longer proposes the pair. Idempotent: returns False when the pair was already dismissed.
    Raises ValueError for a person paired with themself."""
    if person.pk == other.pk:
        raise ValueError("a person cannot be their own duplicate")
    low, high = sorted((person.pk, other.pk))
    _row, created = DuplicateDismissal.objects.get_or_create(
        person_id=low,
        other_id=high,
        defaults={"actor_id": actor.user_id, "actor_name": actor.name[:200]},
    )
    return created


def _person_name_fields(snapshot: dict) -> dict:
    return {k: snapshot.get(k) or "" for k in ("first_name", "middle_name", "last_name", "email")}


def _earliest(a, b):
    return min(x for x in (a, b) if x is not None) if (a or b) else None


def _latest(a, b):
    return max(x for x in (a, b) if x is not None) if (a or b) else None


ERASED_FIELDS = {
    "first_name": "",
    "middle_name": "",
    "last_name": "",
    "email": "",
    "phone": "",
    "address1": "",
    "address2": "",
    "city": "",
    "postal_code": "",
    "region": "",
    "country": "",
    "birthdate": None,
    "language": "",
    "employer": "",
    "occupation": "",
    "social": {},
    "support_level": None,
    "custom": {},
    "external_id": None,
    "recruiter_code": None,
    "search_text": "",
}


@transaction.atomic
def person_erase(*, person: Person, actor: Actor = SYSTEM) -> Person:
    """RGPD/GDPR erasure: wipe everything that identifies or describes the person, keep the
    aggregates (donation totals and counts, points, the number and dates of timeline events)
    so reports still add up, and leave a Tombstone of their emails' and phones' hashes so an
    import cannot bring them back (person_upsert refuses them unless they sign up again
    themself). Tags, list memberships, emails and phones are removed; notes, contact logs,
    timeline entries and merge snapshots lose their text; messages sent to them lose their
    address and content. Idempotent."""
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.is_erased:
        return person
    emails = {*person.emails.values_list("address", flat=True), person.email} - {""}
    phones = {*person.phones.values_list("number", flat=True), person.phone} - {""}
    for snapshot in Merge.objects.filter(survivor=person).values_list("merged_snapshot", flat=True):
        emails.update(snapshot.get("emails") or [])
        phones.update(snapshot.get("phones") or [])
    Tombstone.objects.bulk_create(
        [Tombstone(email_hash=identity_hash(e), erased_by_id=actor.user_id) for e in sorted(emails)]
        + [
            Tombstone(phone_hash=identity_hash(p), erased_by_id=actor.user_id)
            for p in sorted(phones)
        ]
    )
    person.emails.all().delete()
    person.phones.all().delete()
    person.taggings.all().delete()
    person.list_memberships.all().delete()
    person.notes.update(body="", author_name="")
    person.contacts.update(notes="")
    person.activities.update(summary="", data={})
    person.consent_changes.update(wording="")
    Merge.objects.filter(survivor=person).update(merged_snapshot={})
    # Messages sent to them (email, SMS...) keep their outcome for reports, not the address.
    from nations.comms.actions import deliveries_erase

    deliveries_erase(person_id=person.pk, addresses=emails | {e.lower() for e in emails} | phones)
    # Their answers to the site's forms (the signature or RSVP itself stays, nameless), and the
    # share codes the form intake gave them.
    from nations.site.actions import submissions_erase

    submissions_erase(person_id=person.pk)
    for name, value in ERASED_FIELDS.items():
        setattr(person, name, value)
    for field in CONSENT_FIELD.values():  # nobody may contact them again
        setattr(person, field, Consent.WITHDRAWN)
    person.is_erased = True
    person.updated_at = timezone.now()
    person.save()
    activity_record(person=person, kind=Activity.Kind.ERASED, actor=actor)
    return person


def person_export_data(person: Person) -> dict[str, list[dict[str, Any]]]:
    """Everything the nation holds about a person (RGPD/GDPR right of access), as tables:
    {"person": [row], "emails": [...], ...}. Rows of every table pointing at the person are
    included, so tables added by later apps (donations, RSVPs) are exported without change."""
    tables: dict[str, list[dict[str, Any]]] = {"person": [_row(person)]}
    for rel in _person_relations():
        model = rel.related_model
        rows = model._base_manager.filter(**{rel.field.name: person.pk}).order_by("pk")
        key = rel.get_accessor_name() or model._meta.model_name
        if model is Person:
            key = "recruits"
            rows = rows.only("id", "first_name", "last_name", "created_at")
            tables[key] = [
                {"id": r.pk, "name": r.full_name, "created_at": _json(r.created_at)} for r in rows
            ]
            continue
        tables[key] = [_row(r) for r in rows]
    tag_ids = [r["tag_id"] for r in tables.get("taggings", [])]
    tables["tags"] = [_row(t) for t in Tag.objects.filter(pk__in=tag_ids)]
    list_ids = [r["people_list_id"] for r in tables.get("list_memberships", [])]
    tables["lists"] = [_row(p) for p in PeopleList.objects.filter(pk__in=list_ids)]
    return tables


def _row(obj) -> dict[str, Any]:
    return {f.attname: _json(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def custom_value_clean(field: CustomField, raw: Any) -> Any:
    """The value to store in Person.custom for `field`, or None for empty; raises
    ValidationError with a message for the person typing it."""
    from datetime import date
    from decimal import Decimal, InvalidOperation

    from django.utils.translation import gettext as _

    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw).strip()
    if field.kind == CustomField.Kind.NUMBER:
        try:
            number = Decimal(text.replace(",", ".").replace(" ", ""))
        except InvalidOperation as exc:
            raise ValidationError(_("Enter a number.")) from exc
        if not number.is_finite():
            raise ValidationError(_("Enter a number."))
        return int(number) if number == number.to_integral_value() else float(number)
    if field.kind == CustomField.Kind.DATE:
        if isinstance(raw, date):
            return raw.isoformat()
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError as exc:
            raise ValidationError(_("Enter a valid date (YYYY-MM-DD).")) from exc
    if field.kind == CustomField.Kind.CHOICE:
        if text not in (field.choices or []):
            raise ValidationError(_("Pick one of the choices."))
        return text
    return text[:1000]


def custom_field_save(
    *,
    label: str,
    kind: str,
    choices: Iterable[str] = (),
    field: CustomField | None = None,
) -> CustomField:
    """Create or change a custom field. The slug (the key in Person.custom, used by segments
    and imports) is made from the first label and never changes, so stored values stay."""
    from django.utils.text import slugify

    clean_choices = list(dict.fromkeys(c.strip() for c in choices if c and c.strip()))
    if field is None:
        base = slugify(label).replace("-", "_")[:40] or "field"
        slug, n = base, 2
        while CustomField.objects.filter(slug=slug).exists():
            slug, n = f"{base}_{n}", n + 1
        position = (CustomField.objects.aggregate(m=Max("position"))["m"] or 0) + 1
        return CustomField.objects.create(
            slug=slug, label=label.strip(), kind=kind, choices=clean_choices, position=position
        )
    field.label = label.strip()
    field.kind = kind
    field.choices = clean_choices
    field.save()
    return field


def custom_field_delete(*, field: CustomField) -> int:
    """Delete a field definition and its values on every person (one statement)."""
    from django.db import connection

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE people_person SET custom = custom - %s WHERE custom ? %s",
                [field.slug, field.slug],
            )
            count = cursor.rowcount
        field.delete()
    return count


def _contact_remove(
    *, person: Person, item, siblings, value: str, field: str, change: str, actor: Actor
) -> None:
    """Remove an email or phone row; the next one (by id) becomes primary if it was."""
    with transaction.atomic():
        was_primary = item.is_primary
        item.delete()
        if was_primary:
            following = siblings.order_by("id").first()
            if following:
                type(item).objects.filter(pk=following.pk).update(is_primary=True)
            primary = getattr(following, value) if following else ""
            Person.objects.filter(pk=person.pk).update(
                **{field: primary}, updated_at=timezone.now()
            )
            setattr(person, field, primary)
        refresh_search_text(person)
        activity_record(
            person=person,
            kind=Activity.Kind.UPDATED,
            summary="panel",
            data={"changes": {change: [getattr(item, value), None]}},
            actor=actor,
        )


def person_email_remove(*, person: Person, email: PersonEmail, actor: Actor = SYSTEM) -> None:
    """Remove one of a person's emails; the next one becomes primary if it was."""
    _contact_remove(
        person=person,
        item=email,
        siblings=person.emails,
        value="address",
        field="email",
        change="emails",
        actor=actor,
    )


def person_phone_remove(*, person: Person, phone: PersonPhone, actor: Actor = SYSTEM) -> None:
    """Remove one of a person's phone numbers; the next one becomes primary if it was."""
    _contact_remove(
        person=person,
        item=phone,
        siblings=person.phones,
        value="number",
        field="phone",
        change="phones",
        actor=actor,
    )


def people_list_bulk(
    *,
    people: QuerySet[Person],
    people_list: PeopleList,
    actor: Actor = SYSTEM,
    remove: bool = False,
    data: dict | None = None,
) -> int:
    """Add (or remove) every person of a queryset to a static list with set-based SQL, writing
    one timeline entry per person actually added or removed (with `data`). Idempotent; returns
    how many changed."""
    import json

    from django.db import connection

    data_json = json.dumps(data or {})

    person_sql, params = people.values("id").query.sql_with_params()
    now = timezone.now()
    kind = Activity.Kind.UNLISTED if remove else Activity.Kind.LISTED
    with transaction.atomic(), connection.cursor() as cursor:
        if remove:
            cursor.execute(
                "WITH changed AS (DELETE FROM people_listmembership WHERE people_list_id = %s"
                f" AND person_id IN ({person_sql}) RETURNING person_id) "
                "INSERT INTO people_activity (person_id, kind, summary, data, actor_id, actor_name, at)"
                " SELECT person_id, %s, %s, %s::jsonb, %s, %s, %s FROM changed",
                [
                    people_list.pk,
                    *params,
                    kind,
                    people_list.name,
                    data_json,
                    actor.user_id,
                    actor.name,
                    now,
                ],
            )
        else:
            cursor.execute(
                "WITH changed AS (INSERT INTO people_listmembership (people_list_id, person_id,"
                f" created_at) SELECT %s, id, %s FROM ({person_sql}) p ON CONFLICT DO NOTHING"
                " RETURNING person_id) "
                "INSERT INTO people_activity (person_id, kind, summary, data, actor_id, actor_name, at)"
                " SELECT person_id, %s, %s, %s::jsonb, %s, %s, %s FROM changed",
                [
                    people_list.pk,
                    now,
                    *params,
                    kind,
                    people_list.name,
                    data_json,
                    actor.user_id,
                    actor.name,
                    now,
                ],
            )
        return cursor.rowcount


def activities_record_many(
    *, entries: Iterable[tuple[int, str, str, dict]], actor: Actor = SYSTEM, at=None
) -> int:
    """Timeline entries for many people at once (person_id, kind, summary, data): one INSERT.

    For events that happen *to* people in bulk (a blast delivered): last_activity_at, which
    tracks what people did, is left alone."""
    at = at or timezone.now()
    rows = [
        Activity(
            person_id=person_id,
            kind=kind,
            summary=summary[:300],
            data=data,
            actor_id=actor.user_id,
            actor_name=actor.name,
            at=at,
        )
        for person_id, kind, summary, data in entries
    ]
    Activity.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
