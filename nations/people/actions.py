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
from django.db.models import F, QuerySet
from django.utils import timezone

from .models import (
    Activity,
    Channel,
    Consent,
    ContactLog,
    ListMembership,
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


def activity_record(
    *,
    person: Person,
    kind: str,
    summary: str = "",
    data: dict | None = None,
    actor: Actor = SYSTEM,
    at=None,
) -> Activity:
    at = at or timezone.now()
    Person.objects.filter(pk=person.pk).update(last_activity_at=at)
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
        found = (
            Person.objects.filter(email=email).order_by("id").first()
            or Person.objects.filter(emails__address=email).order_by("id").first()
        )
        if found:
            return found
    if phone:
        return (
            Person.objects.filter(phone=phone).order_by("id").first()
            or Person.objects.filter(phones__number=phone).order_by("id").first()
        )
    return None


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
    fields = {k: v for k, v in data.items() if k in PERSON_FIELDS and v not in (None, "")}
    person = find_match(email=email, phone=number, external_id=fields.get("external_id", ""))
    created = person is None
    now = timezone.now()
    if created:
        person = Person.objects.create(
            **fields, email=email, phone=number, created_at=now, updated_at=now, recruiter=recruiter
        )
        changes = {}
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
    item, _ = PersonEmail.objects.get_or_create(person=person, address=address)
    if make_primary or not person.email:
        person.emails.update(is_primary=False)
        PersonEmail.objects.filter(pk=item.pk).update(is_primary=True)
        Person.objects.filter(pk=person.pk).update(email=address, updated_at=timezone.now())
        person.email = address
    refresh_search_text(person)
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
    item, _ = PersonPhone.objects.get_or_create(person=person, number=e164, defaults={"kind": kind})
    if make_primary or not person.phone:
        person.phones.update(is_primary=False)
        PersonPhone.objects.filter(pk=item.pk).update(is_primary=True)
        Person.objects.filter(pk=person.pk).update(phone=e164, updated_at=timezone.now())
        person.phone = e164
    refresh_search_text(person)
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
def person_tag(*, person: Person, names: Iterable[str], actor: Actor = SYSTEM) -> list[Tag]:
    added = []
    for tag in tags_ensure(names):
        _, created = Tagging.objects.get_or_create(person=person, tag=tag)
        if created:
            added.append(tag)
            activity_record(person=person, kind=Activity.Kind.TAGGED, summary=tag.name, actor=actor)
    return added


@transaction.atomic
def person_untag(*, person: Person, names: Iterable[str], actor: Actor = SYSTEM) -> int:
    removed = 0
    for tag in Tag.objects.filter(name__in=list(names)):
        deleted, _ = Tagging.objects.filter(person=person, tag=tag).delete()
        if deleted:
            removed += 1
            activity_record(
                person=person, kind=Activity.Kind.UNTAGGED, summary=tag.name, actor=actor
            )
    return removed


def people_tag_bulk(
    *, people: QuerySet[Person], tag_name: str, actor: Actor = SYSTEM, remove: bool = False
) -> int:
    """Tag (or untag) every person of a queryset with set-based SQL: one statement for the
    taggings, one for the timeline, however many people. Returns how many changed."""
    from django.db import connection

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
                " SELECT person_id, %s, %s, '{}', %s, %s, %s FROM changed",
                [tag.pk, *params, kind, tag.name, actor.user_id, actor.name, now],
            )
        else:
            cursor.execute(
                "WITH changed AS (INSERT INTO people_tagging (person_id, tag_id, created_at)"
                f" SELECT id, %s, %s FROM ({person_sql}) p ON CONFLICT DO NOTHING RETURNING person_id) "
                "INSERT INTO people_activity (person_id, kind, summary, data, actor_id, actor_name, at)"
                " SELECT person_id, %s, %s, '{}', %s, %s, %s FROM changed",
                [tag.pk, now, *params, kind, tag.name, actor.user_id, actor.name, now],
            )
        return cursor.rowcount


@transaction.atomic
def list_add(*, people_list: PeopleList, person: Person, actor: Actor = SYSTEM) -> bool:
    _, created = ListMembership.objects.get_or_create(people_list=people_list, person=person)
    if created:
        activity_record(
            person=person, kind=Activity.Kind.LISTED, summary=people_list.name, actor=actor
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
    if person.recruiter_code:
        return person.recruiter_code
    for _ in range(5):
        code = secrets.token_urlsafe(6)
        if Person.objects.filter(pk=person.pk, recruiter_code__isnull=True).update(
            recruiter_code=code
        ):
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
