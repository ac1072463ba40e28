"""The form intake: a burst of signatures is accepted at once and recorded right after, in order.

A signature records a person (match, create or update, consent with its wording, tags, timeline,
the submission, the autoresponse): ~5 ms of Python and ~3 ms of PostgreSQL work. When a petition
is shared widely, hundreds arrive each second; doing that work inside every visitor's request
makes every visitor wait behind every other one. So a web process records a submission itself
only while it is not already busy with another one and no backlog is being worked off;
otherwise the request validates the form, stores it in `Intake` (one INSERT, committed before
the visitor sees "thank you", so nothing is lost) and answers. The intake worker
(`site.intake`, a Celery task per nation) then calls the very same `submission_record` for each
row, oldest first. Events never wait here: a seat is given or the waiting list is, now.

The visitor's share link is ready at once: the row carries a share code, which becomes the
person's own code when they have none yet, and otherwise stays valid as an alias of theirs
(`recruiter_for`)."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import uuid
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone, translation

from nations.people.models import Person

from .models import Intake, Page

logger = logging.getLogger(__name__)

# The cache keys (the cache prefixes the nation's schema): a worker is queued and not yet
# started; a worker is working off a backlog (new submissions join the queue meanwhile).
PENDING_KEY = "site:intake:pending"
BUSY_KEY = "site:intake:busy"
PENDING_SECONDS = 30  # a lost task costs at most this long; the minute tick restarts it too
BUSY_SECONDS = 3
BATCH = 500  # rows per task run; the task queues its successor if more wait
CLAIM = 50  # rows per transaction (their autoresponses leave when it commits)

_lock = threading.Lock()
_inflight = 0


@contextmanager
def inline_slot(*, busy: bool):
    """Whether this request may record its submission itself: at most
    SITE_INLINE_SUBMISSIONS at a time per process, and none while a backlog is worked off
    (`busy`, read with the rate limits)."""
    global _inflight
    with _lock:
        allowed = not busy and _inflight < settings.SITE_INLINE_SUBMISSIONS
        if allowed:
            _inflight += 1
    try:
        yield allowed
    finally:
        if allowed:
            with _lock:
                _inflight -= 1


def queues(page: Page) -> bool:
    """Whether this page's submissions may wait in the intake (events answer now: a seat or
    the waiting list)."""
    return page.kind != Page.Kind.EVENT


def intake_receive(
    *,
    page: Page,
    data: dict[str, Any],
    token: str = "",
    recruiter_code: str = "",
    consent_wording: str = "",
    language: str = "",
    base_url: str = "",
) -> str:
    """Store a validated form for the intake worker; the share code to show the visitor.

    Idempotent like submission_record: the same form load (`token`) posted twice is one row,
    and the second POST gets the first one's share code."""
    token = (token or uuid.uuid4().hex)[:64]
    payload = {
        "data": data,
        "recruiter": recruiter_code,
        "wording": consent_wording,
        "language": language,
        "base_url": base_url,
    }
    encoded = Intake._meta.get_field("payload").get_db_prep_save(payload, connection)
    with connection.cursor() as cursor:
        for _ in range(5):
            code = secrets.token_urlsafe(6)
            cursor.execute(
                f"INSERT INTO {Intake._meta.db_table} (token, page_id, payload, share_code,"
                " received_at, error) VALUES (%s, %s, %s, %s, %s, '') ON CONFLICT DO NOTHING"
                " RETURNING share_code",
                [token, page.pk, encoded, code, timezone.now()],
            )
            row = cursor.fetchone()
            if row is None:  # the same form load again, or (rarely) a share code taken
                cursor.execute(
                    f"SELECT share_code FROM {Intake._meta.db_table} WHERE token = %s", [token]
                )
                row = cursor.fetchone()
            if row is not None:
                break
        else:
            raise RuntimeError("could not allocate a share code")
    start_worker()
    return row[0]


def start_worker() -> None:
    """Queue the nation's intake worker once the current transaction commits, unless one is
    queued and not yet started (it will take every row committed before it starts)."""
    from config.tasks import enqueue_once

    from .tasks import intake_work

    enqueue_once(intake_work, mark=PENDING_KEY, seconds=PENDING_SECONDS)


def recruiter_for(code: str) -> Person | None:
    """The person a share code belongs to: their own code, or one an intake gave them."""
    if not code:
        return None
    person = Person.objects.filter(recruiter_code=code).first()
    if person is None:
        alias = (
            Intake.objects.filter(share_code=code, person__isnull=False)
            .select_related("person")
            .first()
        )
        person = alias.person if alias else None
    return person


def work(limit: int = BATCH) -> dict[str, int]:
    """Record up to `limit` waiting submissions, oldest first, CLAIM at a time in one
    transaction, each in its own savepoint (a failure keeps its row and its data, and does not
    hold up the others). Several workers may run at once: rows are claimed with SKIP LOCKED."""
    cache.delete(PENDING_KEY)  # a row committed from now on queues a new worker
    totals = {"recorded": 0, "failed": 0, "more": 0}
    claimed = 0
    while claimed < limit:
        cache.set(BUSY_KEY, 1, BUSY_SECONDS)
        with transaction.atomic():
            rows = list(
                Intake.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("page")
                .filter(processed_at__isnull=True)
                .order_by("id")[: min(CLAIM, limit - claimed)]
            )
            if not rows:
                break
            claimed += len(rows)
            for row in rows:
                totals["recorded" if _record(row) else "failed"] += 1
            _mark(rows)
            _forget_adopted(rows)
    else:
        totals["more"] = int(Intake.objects.filter(processed_at__isnull=True).exists())
    if not totals["more"]:
        cache.delete(BUSY_KEY)
    return totals


def _mark(rows: list[Intake]) -> None:
    """One UPDATE for the claimed rows (Django's bulk_update builds a CASE per row and field:
    a third of the worker's CPU)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Intake._meta.db_table} i SET person_id = v.person_id,"
            " payload = v.payload::jsonb, error = v.error, processed_at = v.processed_at"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[],"
            " %s::timestamptz[]) AS v(id, person_id, payload, error, processed_at)"
            " WHERE i.id = v.id",
            [
                [row.pk for row in rows],
                [row.person_id for row in rows],
                [json.dumps(row.payload) for row in rows],
                [row.error for row in rows],
                [row.processed_at for row in rows],
            ],
        )


def _forget_adopted(rows: list[Intake]) -> None:
    """A recorded row whose share code became the person's own code has served its purpose:
    it goes, so a viral petition does not leave a row per signature behind. Rows kept: those
    that failed (their data), and the aliases of people who already had a code."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Intake._meta.db_table} i USING {Person._meta.db_table} p"
            " WHERE i.id = ANY(%s) AND i.person_id = p.id AND p.recruiter_code = i.share_code",
            [[row.pk for row in rows if row.person_id]],
        )


def _record(row: Intake) -> bool:
    """submission_record for one intake row, in a savepoint; the row is marked either way."""
    from .actions import FormClosed, submission_record

    payload = row.payload
    try:
        with transaction.atomic(), translation.override(payload.get("language") or None):
            result = submission_record(
                page=row.page,
                data=payload.get("data") or {},
                token=row.token,
                recruiter_code=payload.get("recruiter", ""),
                consent_wording=payload.get("wording", ""),
                language=payload.get("language", ""),
                base_url=payload.get("base_url", ""),
                accepted=True,
                share_code=row.share_code,
            )
    except (FormClosed, ValidationError) as exc:
        row.error = "; ".join(getattr(exc, "messages", [str(exc)]))[:300]
    except Exception as exc:  # noqa: BLE001 - kept with its data for staff to see
        logger.exception("intake %s could not be recorded", row.pk)
        row.error = f"{type(exc).__name__}: {exc}"[:300]
    else:
        row.person = result.person
        row.payload = {}  # the data now lives on the person
    row.processed_at = timezone.now()
    return not row.error


def adopt_share_code(person: Person, code: str) -> None:
    """The code the visitor was shown becomes theirs if they had none (and nobody has it)."""
    if person.recruiter_code:
        return
    table = Person._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET recruiter_code = %s WHERE id = %s AND recruiter_code IS NULL"
            f" AND NOT EXISTS (SELECT 1 FROM {table} WHERE recruiter_code = %s)",
            [code, person.pk, code],
        )
        if cursor.rowcount:
            person.recruiter_code = code


def failed(page: Page):
    """The page's responses the worker could not record, newest first (their data is kept)."""
    return (
        Intake.objects.filter(page=page, processed_at__isnull=False)
        .exclude(error="")
        .order_by("-id")
    )


def retry(*, page: Page) -> int:
    """Put the page's failed responses back in the queue (staff fixed the cause, say)."""
    count = failed(page).update(processed_at=None, error="")
    if count:
        start_worker()
    return count


def waiting_count(page: Page) -> int:
    return Intake.objects.filter(page=page, processed_at__isnull=True).count()


def intakes_erase(*, person_id: int) -> None:
    """GDPR erasure: the share codes an intake gave the person go (their data left the row
    when it was recorded)."""
    Intake.objects.filter(person_id=person_id).delete()
