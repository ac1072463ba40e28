"""Every change to a nation's website, and what a visitor's form submission does.

A submission always goes through people.actions.person_upsert (match by email then phone,
fill-empty, consent with its wording, tags, recruiter credit), so a petition signature and a CSV
import row update a person by the same rules."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from nations.people.actions import activity_record, person_upsert
from nations.people.models import Activity, Channel, Consent, Person

from .intake import adopt_share_code, intakes_erase, recruiter_for, waiting_count
from .models import (
    Media,
    MenuItem,
    Page,
    Redirect,
    SiteSettings,
    Submission,
    SubmissionToken,
    SurveyQuestion,
)
from .sanitise import clean_html

log = logging.getLogger(__name__)

SITE_VERSION_KEY = "site:version"


# --- cache -----------------------------------------------------------------------------------


def site_version() -> int:
    """The number every cached page key carries; bumping it retires the whole nation's cache."""
    version = cache.get(SITE_VERSION_KEY)
    if version is None:
        # Nanoseconds: after a cache flush the new number never meets an old one (processes
        # remember pages under it, views._live_page).
        version = time.time_ns()
        cache.add(SITE_VERSION_KEY, version, None)
        version = cache.get(SITE_VERSION_KEY, version)
    return version


def site_changed() -> None:
    """Published content changed: every cached page of this nation is stale (after commit)."""

    schema = connection.schema_name

    def bump() -> None:
        from django_tenants.utils import schema_context

        with schema_context(schema):  # cache keys carry the schema: bump this nation's
            try:
                cache.incr(SITE_VERSION_KEY)
            except ValueError:
                cache.set(SITE_VERSION_KEY, time.time_ns(), None)

    transaction.on_commit(bump)


def site_settings() -> SiteSettings:
    """The site's settings; until staff save them, unsaved defaults from the nation (a visit
    never writes)."""
    found = SiteSettings.objects.filter(pk=1).select_related("logo", "favicon").first()
    if found is None:
        nation = getattr(connection, "tenant", None)
        found = SiteSettings(
            pk=1,
            title=getattr(nation, "name", ""),
            language=getattr(nation, "language", "en"),
            time_zone=getattr(nation, "timezone", "UTC") or "UTC",
        )
    return found


# --- pages -----------------------------------------------------------------------------------


def _lines(value: Any) -> list[str]:
    if isinstance(value, list):
        items = value
    else:
        items = str(value or "").splitlines()
    return [" ".join(str(i).split())[:200] for i in items if str(i).strip()]


@transaction.atomic
def page_save(*, page: Page, data: dict[str, Any]) -> Page:
    """Create or update a page from cleaned panel data; its text is sanitised here."""
    for name, value in data.items():
        if name == "body":
            value = clean_html(value)
        elif name in ("tags", "topics", "skills", "availability", "amounts"):
            value = _lines(value)
        setattr(page, name, value)
    if page.pk is None and not page.position:
        page.position = (
            Page.objects.order_by("-position").values_list("position", flat=True).first() or 0
        ) + 1
    page.updated_at = timezone.now()
    page.save()
    if page.status == Page.Status.PUBLISHED:
        site_changed()
    return page


@transaction.atomic
def page_publish(*, page: Page, at=None) -> Page:
    """Publish now, or schedule (`at` in the future: live from then on, nothing to run)."""
    page.status = Page.Status.PUBLISHED
    page.publish_at = at or (
        page.publish_at if page.publish_at and page.publish_at > timezone.now() else None
    )
    if page.kind == Page.Kind.POST and page.publish_at is None:
        page.publish_at = timezone.now()  # a post's date
    page.updated_at = timezone.now()
    page.save(update_fields=["status", "publish_at", "updated_at"])
    Redirect.objects.filter(old_path=page.get_absolute_url()).delete()
    site_changed()
    if page.kind in (Page.Kind.POST, Page.Kind.EVENT):
        from nations.social.actions import autopost_after_commit

        autopost_after_commit(page_id=page.pk)  # once per page, however often it is published
    return page


@transaction.atomic
def page_unpublish(*, page: Page) -> Page:
    page.status = Page.Status.DRAFT
    page.updated_at = timezone.now()
    page.save(update_fields=["status", "updated_at"])
    site_changed()
    return page


@transaction.atomic
def page_delete(*, page: Page, redirect_to: str = "") -> None:
    """Delete a page; with `redirect_to`, its old address keeps working as a redirect."""
    old = page.get_absolute_url()
    page.delete()
    if redirect_to:
        Redirect.objects.update_or_create(old_path=old, defaults={"new_path": redirect_to})
    site_changed()


@transaction.atomic
def page_move(*, page: Page, direction: int) -> None:
    """Swap a page with its neighbour in the list (direction -1 = up, +1 = down)."""
    siblings = list(Page.objects.filter(blog__isnull=True).order_by("position", "id"))
    for index, item in enumerate(siblings):
        if item.position != index:
            Page.objects.filter(pk=item.pk).update(position=index)
            item.position = index
    where = next((i for i, p in enumerate(siblings) if p.pk == page.pk), None)
    other = None if where is None else where + direction
    if other is None or not 0 <= other < len(siblings):
        return
    a, b = siblings[where], siblings[other]
    Page.objects.filter(pk=a.pk).update(position=b.position)
    Page.objects.filter(pk=b.pk).update(position=a.position)
    site_changed()


# --- survey questions --------------------------------------------------------------------------


def _survey_changed(page: Page) -> None:
    page.updated_at = timezone.now()
    Page.objects.filter(pk=page.pk).update(updated_at=page.updated_at)
    if page.status == Page.Status.PUBLISHED:
        site_changed()  # visitors see the new form at once (page cache and per-process pages)


@transaction.atomic
def survey_question_save(
    *,
    page: Page,
    kind: str,
    label: str,
    choices: list[str] | None = None,
    required: bool = False,
    question: SurveyQuestion | None = None,
) -> SurveyQuestion:
    """Add a question at the end of a survey page (question=None) or change one of its
    questions. Options are kept only for choice questions, stripped and without repeats; the
    caller (the panel's QuestionForm) has refused empty wording and choice questions with fewer
    than two options."""
    if page.kind != Page.Kind.SURVEY:
        raise ValueError("questions belong to survey pages")
    if question is None:
        last = page.survey_questions.order_by("-position").values_list("position", flat=True)
        question = SurveyQuestion(page=page, position=(last.first() or 0) + 1)
    elif question.page_id != page.pk:
        raise ValueError("this question belongs to another page")
    question.kind = kind
    question.label = " ".join(label.split())[:300]
    options = list(dict.fromkeys(_lines(choices or [])))
    question.choices = options if kind in SurveyQuestion.CHOICE_KINDS else []
    question.required = required
    question.save()
    _survey_changed(page)
    return question


@transaction.atomic
def survey_question_move(*, question: SurveyQuestion, direction: int) -> None:
    """Swap a question with its neighbour (direction -1 = up, +1 = down)."""
    siblings = list(SurveyQuestion.objects.select_for_update().filter(page_id=question.page_id))
    where = next((i for i, q in enumerate(siblings) if q.pk == question.pk), None)
    other = None if where is None else where + direction
    if other is None or not 0 <= other < len(siblings):
        return
    siblings[where], siblings[other] = siblings[other], siblings[where]
    for position, item in enumerate(siblings, start=1):
        if item.position != position:
            SurveyQuestion.objects.filter(pk=item.pk).update(position=position)
    _survey_changed(question.page)


@transaction.atomic
def survey_question_remove(*, question: SurveyQuestion) -> None:
    """Remove a question from its survey. Answers already given stay on their submissions
    (under the question's wording) and in the export."""
    page = question.page
    question.delete()
    _survey_changed(page)


def menu_replace(*, items: list[tuple[str, Page | None, str]]) -> None:
    with transaction.atomic():
        MenuItem.objects.all().delete()
        MenuItem.objects.bulk_create(
            MenuItem(label=label, page=page, url=url, position=i)
            for i, (label, page, url) in enumerate(items)
        )
        site_changed()


def media_add(*, upload, alt: str) -> Media:
    """Store an uploaded image (checked, resized, re-encoded); raises media.ImageRejected."""
    from .media import prepare_image

    content, ext, (width, height) = prepare_image(upload)
    item = Media(alt=alt.strip()[:300], size=content.size, width=width, height=height)
    stem = "".join(
        c for c in (upload.name or "image").rsplit(".", 1)[0] if c.isalnum() or c in "-_"
    )[:40]
    item.file.save(f"{stem or 'image'}.{ext}", content, save=False)
    item.save()
    return item


# --- submissions -----------------------------------------------------------------------------


class FormClosed(Exception):
    """The page takes no submissions now (cancelled or past event, unpublished page)."""


@dataclass
class SubmissionResult:
    submission: Submission
    person: Person
    created_person: bool = False
    duplicate: bool = False  # the same form load posted twice, or this person already did
    waitlisted: bool = False
    messages: list[str] = field(default_factory=list)


ACTIVITY = {
    Page.Kind.PETITION: (Activity.Kind.SIGNED, _("Signed: %(title)s")),
    Page.Kind.EVENT: (Activity.Kind.RSVP, _("RSVP: %(title)s")),
    Page.Kind.SIGNUP: (Activity.Kind.OTHER, _("Signed up: %(title)s")),
    Page.Kind.VOLUNTEER: (Activity.Kind.OTHER, _("Volunteered: %(title)s")),
    Page.Kind.SURVEY: (Activity.Kind.OTHER, _("Answered: %(title)s")),
}


def event_is_over(page: Page, now=None) -> bool:
    now = now or timezone.now()
    end = page.ends_at or (page.starts_at + timedelta(hours=3) if page.starts_at else None)
    return bool(end and end < now)


def event_seats_taken(page: Page) -> int:
    going = Submission.objects.filter(page=page, status=Submission.Status.GOING)
    return going.count() + (going.aggregate(n=Sum("guests"))["n"] or 0)


def _identity_lock(*keys: str) -> None:
    """Serialise submissions about the same email/phone in this nation until commit, so two
    simultaneous clicks cannot both create the person (a database lock: it holds even if Redis
    is down, and ends with the transaction)."""
    with connection.cursor() as cursor:
        for key in sorted(k for k in keys if k):
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"{connection.schema_name}:{key.lower()}"],
            )


def _submission_insert(submission: Submission, token_id: int | bool | None) -> Submission:
    """INSERT the submission and link the form load's token to it: one statement, its values
    prepared by the model's fields as the ORM's INSERT would."""
    columns, params = [], []
    for model_field in Submission._meta.concrete_fields:
        if not model_field.primary_key:
            columns.append(f'"{model_field.column}"')
            value = model_field.pre_save(submission, True)
            params.append(model_field.get_db_prep_save(value, connection))
    sql = (
        f"WITH s AS (INSERT INTO {Submission._meta.db_table} ({', '.join(columns)})"
        f" VALUES ({', '.join(['%s'] * len(columns))}) RETURNING id)"
    )
    if token_id:
        sql += (
            f", t AS (UPDATE {SubmissionToken._meta.db_table}"
            " SET submission_id = (SELECT id FROM s) WHERE id = %s)"
        )
        params.append(token_id)
    with connection.cursor() as cursor:
        cursor.execute(sql + " SELECT id FROM s", params)
        submission.pk = cursor.fetchone()[0]
    submission._state.adding, submission._state.db = False, connection.alias
    return submission


def _token_claim(token: str) -> int | bool:
    """Claim a form load's idempotency token: its row id, or False if it was claimed before.
    One statement and no savepoint (every signature does this)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SubmissionToken._meta.db_table} (token, created_at) VALUES (%s, %s)"
            " ON CONFLICT (token) DO NOTHING RETURNING id",
            [token, timezone.now()],
        )
        row = cursor.fetchone()
    return row[0] if row else False


def submission_record(
    *,
    page: Page,
    data: dict[str, Any],
    token: str = "",
    recruiter_code: str = "",
    consent_wording: str = "",
    language: str = "",
    base_url: str = "",
    accepted: bool = False,
    share_code: str = "",
) -> SubmissionResult:
    """Record a visitor's form: person_upsert (email, then phone), tags, consent with its
    wording, timeline, the submission row, then the confirmation email after commit.

    Idempotent: the same `token` (one form load) posted again returns the first result, and one
    person answering a page twice updates their one submission (one signature, one RSVP).
    Raises FormClosed; ValidationError for an email/phone person_upsert refuses. `accepted`: the
    form intake took it while the page was open (the page may have closed since; it counts);
    `share_code`: the code the intake showed the visitor, theirs if they have none yet."""
    if not page.has_form or not (accepted or page.is_live()):
        raise FormClosed(_("This page does not take submissions."))
    if page.kind == Page.Kind.EVENT and (page.cancelled or event_is_over(page)) and not accepted:
        raise FormClosed(
            _("This event is cancelled.") if page.cancelled else _("This event is over.")
        )
    email, phone = data.get("email", ""), data.get("phone", "")
    with transaction.atomic():
        claimed = _token_claim(token[:64]) if token else None
        if claimed is False:
            first = (
                SubmissionToken.objects.filter(token=token[:64])
                .select_related("submission__person")
                .first()
            )
            if first is not None and first.submission is not None:
                return SubmissionResult(
                    submission=first.submission,
                    person=first.submission.person,
                    duplicate=True,
                    waitlisted=first.submission.status == Submission.Status.WAITLIST,
                )
            raise IntegrityError(f"submission token {token[:64]!r} is being used")
        _identity_lock(email, phone)
        recruiter = recruiter_for(recruiter_code)
        kind, summary = ACTIVITY[page.kind]
        summary = summary % {"title": page.title}
        consents = {}
        if data.get("consent"):
            consents[Channel.EMAIL] = (Consent.GRANTED, consent_wording)
        person, created = person_upsert(
            data={
                "first_name": data.get("first_name", ""),
                "last_name": data.get("last_name", ""),
                "city": data.get("city", ""),
                "postal_code": data.get("postal_code", ""),
                "language": language,
            },
            email=email,
            phone=phone,
            source=f"page:{page.slug}",
            tags=page.tags,
            consents=consents,
            recruiter=recruiter,
            self_signup=True,
            activity_kind=kind,
            activity_summary=summary,
            default_region=(getattr(connection.tenant, "country", "") or "FR"),
        )
        if share_code:
            adopt_share_code(person, share_code)
        answers = data.get("answers") or {}
        guests = int(data.get("guests") or 0) if page.kind == Page.Kind.EVENT else 0
        public = bool(data.get("public")) and page.kind == Page.Kind.PETITION and page.show_signers
        existing = (  # someone new has no submission yet
            None
            if created
            else Submission.objects.select_for_update().filter(page=page, person=person).first()
        )
        result_status = Submission.Status.DONE
        if page.kind == Page.Kind.EVENT:
            # One RSVP at a time per event: seats are counted under the page's row lock.
            Page.objects.select_for_update().filter(pk=page.pk).first()
            result_status = Submission.Status.GOING
            if page.capacity:
                taken = event_seats_taken(page)
                if existing and existing.status == Submission.Status.GOING:
                    taken -= 1 + existing.guests
                if taken + 1 + guests > page.capacity:
                    result_status = Submission.Status.WAITLIST
        now = timezone.now()
        fields = {
            "status": result_status,
            "guests": guests,
            "answers": {**(existing.answers if existing else {}), **answers},
            "public_name": (data.get("first_name") or "")[:100] if public else "",
            "public_city": (data.get("city") or "")[:100] if public else "",
            "updated_at": now,
        }
        duplicate = existing is not None
        if existing:
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.save()
            submission = existing
        else:
            submission = _submission_insert(
                Submission(page=page, person=person, created_at=now, **fields), claimed
            )
            claimed = None  # linked by the same statement
            if not created:  # a known person: person_upsert wrote no entry for this page
                activity_record(
                    person=person,
                    kind=kind,
                    summary=summary,
                    data={"source": f"page:{page.slug}", "page": page.pk},
                )
        if claimed:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {SubmissionToken._meta.db_table} SET submission_id = %s WHERE id = %s",
                    [submission.pk, claimed],
                )
        result = SubmissionResult(
            submission=submission,
            person=person,
            created_person=created,
            duplicate=duplicate,
            waitlisted=result_status == Submission.Status.WAITLIST,
        )
        if not duplicate and email:
            from .emails import autoresponse_send

            autoresponse_send(page=page, person=person, result=result, base_url=base_url)
    return result


def submissions_erase(*, person_id: int) -> None:
    """GDPR erasure (person_erase): answers and the public name/city go; the submission stays
    so counts and RSVPs add up."""
    Submission.objects.filter(person_id=person_id).update(
        answers={}, public_name="", public_city="", updated_at=timezone.now()
    )
    intakes_erase(person_id=person_id)


# --- counters --------------------------------------------------------------------------------

COUNT_TTL = 5


def _count_key(page_id: int) -> str:
    return f"site:count:{page_id}"


def page_count(page: Page) -> int:
    """Signatures / RSVPs / signups of a page, read at most every few seconds under load."""
    key = _count_key(page.pk)
    value = cache.get(key)
    if value is None:
        if page.kind == Page.Kind.EVENT:
            value = event_seats_taken(page)
        else:  # with those accepted and not yet recorded (the form intake)
            value = Submission.objects.filter(page=page).count() + waiting_count(page)
        cache.set(key, value, COUNT_TTL)
    return value


def sender_for(nation) -> str:
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((getattr(nation, "name", "") or name, address))
