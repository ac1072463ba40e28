"""The delivery pipeline, the same for every channel (email now; SMS, voice and social next).

1. **Snapshot** (`snapshot`): a blast's audience becomes one `Delivery` row per recipient, by
   `INSERT … SELECT` over person-id ranges (one statement per range, each its own transaction;
   re-running it is harmless: one row per blast and address, ON CONFLICT DO NOTHING).
2. **Claim** (`claim`): a worker takes up to N queued rows with `FOR UPDATE SKIP LOCKED`, gives
   each its Message-ID and marks them `sending` (committed). Transactional rows come first, then
   the rows of blasts that are `sending` (a paused or cancelled blast's rows are not claimed).
   Before claiming, the worker reserves N tokens from the global and the nation's rate buckets
   (rate.py) and returns what it did not use.
3. **Send** (`pump`): the channel renders and hands each message over, writing the row's id to
   the worker's journal just before the backend takes ownership (journal.py).
4. **Mark**: one transaction marks the batch sent / failed / queued again (transient errors) /
   skipped (unsubscribed or bounced since the snapshot), bumps the blast's counters, writes the
   timeline entries, and then the journal is emptied.
5. **Reap** (`reap`): rows left in `sending` by a dead worker go back to the queue, except those
   its journal shows were handed over: they are marked sent, so nobody gets a message twice.

Billing: a nation that may not send (`billing.state.can_send`) keeps its blast rows queued (its
transactional messages still go); each batch
of blast messages is counted with `meter_consume` before it is sent (over the plan's limit: the
blast pauses with a message, its rows stay queued).
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.limits import PlanLimitReached, has_feature
from billing.meters import meter_consume, meter_increment
from billing.state import can_send
from nations.people.filters import FilterError

from . import rate
from .audience import recipients
from .journal import handed_over, is_alive, open_journal, worker_name
from .models import Blast, Delivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
METRICS = {"email": "emails", "sms": "sms"}  # billing meters of the metered channels


# --- 1. snapshot -------------------------------------------------------------------------------
def snapshot(blast_id: int) -> int:
    """Write the blast's deliveries and start sending. Returns the number of recipients."""
    blast = Blast.objects.select_related("segment").get(pk=blast_id)
    if blast.status != Blast.Status.PREPARING:
        return blast.total
    try:
        people = recipients(blast)
        sql, params = people.query.sql_with_params()
    except FilterError as error:
        Blast.objects.filter(pk=blast.pk).update(
            status=Blast.Status.FAILED, status_message=str(error)[:300]
        )
        return 0
    nation = connection.tenant
    priority = (
        Delivery.PRIORITY_BLAST_PLUS
        if has_feature(nation, "priority_queue")
        else Delivery.PRIORITY_BLAST
    )
    step = settings.COMMS_SNAPSHOT_STEP
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(min(id), 0), coalesce(max(id), -1) FROM people_person")
        low, high = cursor.fetchone()
    # An A/B test's rows are all held; its two test groups are then released (abtest.split).
    status = Delivery.Status.HELD if blast.is_ab else Delivery.Status.QUEUED
    insert = (
        "INSERT INTO comms_delivery (channel, blast_id, person_id, address, status, priority,"
        " kind, variant, message_id, claimed_by, attempts, error, created_at, provider_id,"
        " outcome)"
        " SELECT %s, %s, a.id, a.address, %s, %s, 'blast', '', '', '', 0, '', now(), '', ''"
        f" FROM ({sql}) AS a WHERE a.id >= %s AND a.id < %s ON CONFLICT DO NOTHING"
    )
    for start in range(low, high + 1, step):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                insert, [blast.channel, blast.pk, status, priority, *params, start, start + step]
            )
            Blast.objects.filter(pk=blast.pk).update(total=F("total") + cursor.rowcount)
    total = Delivery.objects.filter(blast_id=blast.pk).count()
    if blast.is_ab:
        from .abtest import split

        split(blast, total)
    started = Blast.objects.filter(pk=blast.pk, status=Blast.Status.PREPARING).update(
        status=Blast.Status.SENDING if total else Blast.Status.SENT,
        total=total,
        started_at=timezone.now(),
        finished_at=None if total else timezone.now(),
    )
    if started and total:
        from .tasks import start_pumps

        start_pumps(blast.channel)
    return total


# --- 2. claim ----------------------------------------------------------------------------------
@dataclass
class Claimed:
    id: int
    blast_id: int | None
    person_id: int | None
    address: str
    kind: str
    payload: dict | None
    attempts: int
    variant: str = ""
    message_id: str = ""


def claim(
    *, channel: str, limit: int, blasts: dict[int, str], worker: str, domain: str
) -> list[Claimed]:
    """Take up to `limit` queued rows: transactional first, then one sending blast's (picked at
    random among the active ones, so two blasts share the rate). `blasts` maps the ids of
    blasts in `sending` to the domain of their Message-IDs."""
    from .render import message_id_for

    columns = "id, blast_id, person_id, address, kind, payload, attempts, variant"
    schema = connection.schema_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM comms_delivery WHERE status = 'queued' AND channel = %s"
            " AND blast_id IS NULL AND (claimed_at IS NULL OR claimed_at <= now())"
            " ORDER BY priority DESC, id LIMIT %s FOR UPDATE SKIP LOCKED",
            [channel, limit],
        )
        rows = cursor.fetchall()
        order = list(blasts)
        random.shuffle(order)
        for blast_id in order:
            if len(rows) >= limit:
                break
            cursor.execute(
                f"SELECT {columns} FROM comms_delivery WHERE status = 'queued' AND blast_id = %s"
                " AND (claimed_at IS NULL OR claimed_at <= now())"
                " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                [blast_id, limit - len(rows)],
            )
            rows += cursor.fetchall()
        if not rows:
            return []
        claimed = [Claimed(*row) for row in rows]
        for row in claimed:
            if isinstance(row.payload, str):  # Django leaves jsonb undecoded on raw cursors
                row.payload = json.loads(row.payload)
        for row in claimed:
            row_domain = blasts.get(row.blast_id) or (row.payload or {}).get("domain") or domain
            row.message_id = message_id_for(schema, row.id, row_domain)
        cursor.execute(
            "UPDATE comms_delivery d SET status = 'sending', claimed_at = now(), claimed_by = %s,"
            " attempts = d.attempts + 1, message_id = v.mid"
            " FROM unnest(%s::bigint[], %s::text[]) AS v(id, mid) WHERE d.id = v.id",
            [worker, [r.id for r in claimed], [r.message_id for r in claimed]],
        )
    return claimed


# --- 3 and 4. send and mark --------------------------------------------------------------------
@dataclass
class BatchResult:
    sent: list[Claimed] = field(default_factory=list)
    failed: list[tuple[Claimed, str]] = field(default_factory=list)
    retry: list[tuple[Claimed, str]] = field(default_factory=list)
    skipped: list[tuple[Claimed, str]] = field(default_factory=list)
    released: list[Claimed] = field(default_factory=list)  # back to the queue, untouched
    # Back to the queue until a given time (SMS quiet hours: deferred, never dropped).
    deferred: list[tuple[Claimed, datetime]] = field(default_factory=list)
    provider_ids: dict[int, str] = field(default_factory=dict)  # row id -> the provider's id
    connection_errors: int = 0


def _meter(nation, channel_handler, rows: list[Claimed], result: BatchResult) -> list[Claimed]:
    """Count the batch against the plan. Over the limit: the blast rows go back to the queue
    and their blasts pause; transactional rows are always sent (and counted)."""
    blast_rows = [r for r in rows if r.blast_id]
    other = [r for r in rows if not r.blast_id]
    metric = channel_handler.meter
    if metric is None:  # no monthly meter: voice (the plan's feature gates it), social posts
        return rows
    if other:
        meter_increment(nation, metric, len(other))
    if not blast_rows:
        return other
    try:
        meter_consume(nation, metric, len(blast_rows))
    except PlanLimitReached as error:
        result.released += blast_rows
        Blast.objects.filter(
            pk__in={r.blast_id for r in blast_rows}, status=Blast.Status.SENDING
        ).update(status=Blast.Status.PAUSED, status_message=str(error)[:300])
        return other
    return other + blast_rows


def _unnest_update(cursor, sql_set: str, rows: list[tuple[int, str]]) -> None:
    if rows:
        cursor.execute(
            f"UPDATE comms_delivery d SET {sql_set}"
            " FROM unnest(%s::bigint[], %s::text[]) AS v(id, err) WHERE d.id = v.id",
            [[r[0] for r in rows], [r[1][:300] for r in rows]],
        )


def _refund(count: int, metric: str | None = "emails") -> None:
    """Give back what was metered for messages that will be sent (and metered) again."""
    if count > 0 and metric:
        meter_increment(connection.tenant, metric, -count)


def mark(
    result: BatchResult,
    *,
    subjects: dict[int, str],
    timeline_kind: str | None = "email_sent",
    metric: str = "emails",
) -> None:
    """Record a batch's outcome in one transaction (rows, blast counters, timelines)."""
    from nations.people.actions import activities_record_many

    retry = [(r, e) for r, e in result.retry if r.attempts < MAX_ATTEMPTS]
    failed = result.failed + [(r, e) for r, e in result.retry if r.attempts >= MAX_ATTEMPTS]
    counts: dict[int, list[int]] = {}
    for rows, slot in (
        ([r for r in result.sent], 0),
        ([r for r, _e in failed], 1),
        ([r for r, _e in result.skipped], 2),
    ):
        for row in rows:
            if row.blast_id:
                counts.setdefault(row.blast_id, [0, 0, 0])[slot] += 1
    with transaction.atomic(), connection.cursor() as cursor:
        _unnest_update(
            cursor,
            "status = 'sent', sent_at = now(), error = v.err",
            [(r.id, "") for r in result.sent],
        )
        _unnest_update(cursor, "status = 'failed', error = v.err", [(r.id, e) for r, e in failed])
        # A set-password link is a credential: it is not kept once the message is settled.
        _unnest_update(
            cursor,
            "payload = NULL",
            [
                (r.id, "")
                for r in [*result.sent, *(r for r, _e in failed)]
                if r.kind == Delivery.KIND_PASSWORD_RESET
            ],
        )
        # A queued row's claimed_at is "not before": transient failures back off (30 s, 60 s…).
        _unnest_update(
            cursor,
            "status = 'queued', claimed_by = '', error = v.err,"
            " claimed_at = now() + d.attempts * interval '30 seconds'",
            [(r.id, e) for r, e in retry],
        )
        _unnest_update(
            cursor,
            "status = 'queued', claimed_by = '', claimed_at = NULL, attempts = d.attempts - 1,"
            " error = v.err",
            [(r.id, "") for r in result.released],
        )
        _unnest_update(cursor, "status = 'skipped', error = v.err", result_skipped(result))
        _unnest_update(cursor, "provider_id = v.err", list(result.provider_ids.items()))
        if result.deferred:
            cursor.execute(
                "UPDATE comms_delivery d SET status = 'queued', claimed_by = '', error = v.err,"
                " claimed_at = v.at, attempts = d.attempts - 1"
                " FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[]) AS v(id, at, err)"
                " WHERE d.id = v.id",
                [
                    [r.id for r, _at in result.deferred],
                    [at for _r, at in result.deferred],
                    [
                        _("quiet hours: sent after %(at)s")
                        % {"at": at.isoformat(timespec="minutes")}
                        for _r, at in result.deferred
                    ],
                ],
            )
        for blast_id, (sent, failed_n, skipped) in counts.items():
            Blast.objects.filter(pk=blast_id).update(
                sent_count=F("sent_count") + sent,
                failed_count=F("failed_count") + failed_n,
                skipped_count=F("skipped_count") + skipped,
            )
        _refund(sum(1 for r, _e in retry if r.blast_id), metric)
        _refund(sum(1 for r, _at in result.deferred if r.blast_id), metric)
        entries = [
            (
                r.person_id,
                timeline_kind,
                subjects.get(r.blast_id or 0, ""),
                {"blast": r.blast_id, "delivery": r.id},
            )
            for r in result.sent
            if r.person_id and r.blast_id and timeline_kind
        ]
        if entries:
            activities_record_many(entries=entries)


def result_skipped(result: BatchResult) -> list[tuple[int, str]]:
    return [(r.id, e) for r, e in result.skipped]


def finish_blasts(blast_ids) -> None:
    """Blasts with nothing queued or being sent are done."""
    for blast_id in blast_ids:
        busy = Delivery.objects.filter(
            blast_id=blast_id,
            status__in=(Delivery.Status.QUEUED, Delivery.Status.SENDING, Delivery.Status.HELD),
        ).exists()
        if not busy:
            Blast.objects.filter(pk=blast_id, status=Blast.Status.SENDING).update(
                status=Blast.Status.SENT, finished_at=timezone.now()
            )


def active_blasts(channel: str) -> dict[int, str]:
    rows = Blast.objects.filter(channel=channel, status=Blast.Status.SENDING).values_list(
        "pk", "broadcaster__from_email"
    )
    return {pk: (email or "").rsplit("@", 1)[-1] or settings.PLATFORM_DOMAIN for pk, email in rows}


def heartbeat_key(schema: str, channel: str) -> str:
    return f"comms:pump:{schema}:{channel}"


def pump(channel: str = "email", *, seconds: float | None = None) -> dict[str, int]:
    """Send queued deliveries of the current nation until none is left (or `seconds` pass).

    Returns counts. Several pumps may run at once for a nation (on several workers): claims
    never overlap. Leaves blast rows queued when the nation may not send."""
    from .channels import handler_for

    nation = connection.tenant
    schema = connection.schema_name
    handler = handler_for(channel, nation)
    journal = open_journal()
    worker = worker_name()
    redis = rate.client()
    totals = {"sent": 0, "failed": 0, "retry": 0, "skipped": 0, "more": 0}
    seen: set[int] = set()
    failures = 0
    deadline = time.monotonic() + (seconds or settings.COMMS_PUMP_SECONDS)
    try:
        while True:
            if time.monotonic() > deadline:
                totals["more"] = 1
                break
            # A nation whose payments stopped sends no blasts; its transactional mail (receipts,
            # autoresponses, tests) still goes: the plan limits broadcasts, not receipts.
            blasts = active_blasts(channel) if can_send(nation) else {}
            seen |= set(blasts)
            granted = rate.reserve(schema, channel, settings.COMMS_BATCH)
            if not granted:
                time.sleep(0.02)
                continue
            rows = claim(
                channel=channel,
                limit=granted,
                blasts=blasts,
                worker=worker,
                domain=settings.PLATFORM_DOMAIN,
            )
            rate.refund(schema, channel, granted - len(rows))
            if not rows:
                break
            redis.set(heartbeat_key(schema, channel), worker, ex=60)
            result = BatchResult()
            to_send = _meter(nation, handler, rows, result)
            handler.send_batch(to_send, result, lambda row_id: journal.handing_over(schema, row_id))
            mark(
                result,
                subjects=handler.subjects,
                timeline_kind=getattr(handler, "timeline_kind", "email_sent"),
                metric=handler.meter,
            )
            journal.clear()
            totals["sent"] += len(result.sent)
            totals["failed"] += len(result.failed)
            totals["retry"] += len(result.retry)
            totals["skipped"] += len(result.skipped)
            if len(result.deferred) == len(rows):
                break  # the head of the queue waits for the morning: the beat's tick restarts us
            if result.connection_errors and not result.sent:
                failures += 1
                if failures > 4:
                    totals["more"] = 1
                    break
                time.sleep(min(2**failures * 0.25, 5))
            else:
                failures = 0
    finally:
        handler.close()
        journal.close()
        redis.delete(heartbeat_key(schema, channel))
        finish_blasts(seen)
    return totals


# --- 5. reap -----------------------------------------------------------------------------------
def reap(*, older_than: float | None = None) -> dict[str, int]:
    """Settle rows stuck in `sending` (claimed more than `older_than` seconds ago by a worker
    that is not known to be alive): handed over per the journals -> sent; else -> queued."""
    seconds = settings.COMMS_SENDING_TIMEOUT if older_than is None else older_than
    cutoff = timezone.now() - timezone.timedelta(seconds=seconds)
    stuck = list(
        Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lte=cutoff).values_list(
            "pk", "blast_id", "claimed_by", "channel"
        )
    )
    stuck = [row for row in stuck if not is_alive(row[2])]
    if not stuck:
        return {"sent": 0, "queued": 0}
    handed = handed_over(connection.schema_name)
    sent = [row for row in stuck if row[0] in handed]
    again = [row[0] for row in stuck if row[0] not in handed]
    with transaction.atomic():
        done = Delivery.objects.filter(
            pk__in=[r[0] for r in sent], status=Delivery.Status.SENDING
        ).update(
            status=Delivery.Status.SENT,
            sent_at=timezone.now(),
            error=_("confirmed by the hand-over journal after a worker stopped"),
        )
        per_blast: dict[int, int] = {}
        for _pk, blast_id, _w, _c in sent:
            if blast_id:
                per_blast[blast_id] = per_blast.get(blast_id, 0) + 1
        if done:
            for blast_id, n in per_blast.items():
                Blast.objects.filter(pk=blast_id).update(sent_count=F("sent_count") + n)
        queued = Delivery.objects.filter(pk__in=again, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.QUEUED, claimed_by="", claimed_at=None
        )
        # They were metered when claimed and will be again when sent.
        requeued = set(again)
        for channel, metric in METRICS.items():
            _refund(
                sum(1 for pk, b, _w, c in stuck if pk in requeued and b and c == channel), metric
            )
    return {"sent": done, "queued": queued}
