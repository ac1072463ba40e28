"""Celery tasks of the pipeline. Pumps are sent with a broker priority: transactional pumps
(autoresponses, receipts, tests) jump ahead of blast pumps waiting in the queue."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_context

from config.celery import app
from config.tasks import enqueue_once, nation_task

from . import pipeline

TRANSACTIONAL_PRIORITY = 0  # kombu's Redis transport: 0 is served first
BLAST_PRIORITY = 6


def send_on_commit(task, *args, priority: int = BLAST_PRIORITY, **kwargs) -> str:
    """config.tasks.enqueue with a broker priority: after commit, in the caller's schema."""
    schema = connection.schema_name
    task_id = uuid.uuid4().hex

    def send() -> None:
        task.apply_async(
            args=args,
            kwargs=kwargs,
            task_id=task_id,
            priority=priority,
            headers={"_schema_name": schema},
        )

    transaction.on_commit(send)
    return task_id


# While a transactional pump is queued and not yet started, more autoresponses need no task of
# their own: that pump claims every row committed before it starts. A petition shared widely
# commits hundreds a second, and each Celery publish cost about as much CPU as the rest of the
# signature's email. The mark expires, so a lost task costs at most this long (tick_nation
# restarts pumps too).
PENDING_SECONDS = 30


def _pending_key(channel: str) -> str:
    return f"comms:pump-pending:{channel}"  # the cache prefixes the nation's schema


def start_pumps(channel: str, *, transactional: bool = False) -> None:
    if transactional:
        enqueue_once(
            pump_deliveries,
            channel,
            mark=_pending_key(channel),
            seconds=PENDING_SECONDS,
            priority=TRANSACTIONAL_PRIORITY,
        )
        return
    for _ in range(settings.COMMS_PUMPS):
        send_on_commit(pump_deliveries, channel)


@nation_task(name="comms.snapshot", acks_late=True)
def snapshot_blast(blast_id: int) -> int:
    return pipeline.snapshot(blast_id)


@nation_task(name="comms.pump", acks_late=True)
def pump_deliveries(channel: str = "email") -> dict:
    from django.core.cache import cache

    # Before claiming: a row committed from now on queues its own pump (start_pumps).
    cache.delete(_pending_key(channel))
    totals = pipeline.pump(channel)
    if totals.get("more"):
        send_on_commit(pump_deliveries, channel)  # autocommit: sent now
    return totals


def tick_nation(*, reap_after: float | None = None) -> dict:
    """One nation's minute: start due blasts, settle stuck rows, restart pumps where work waits
    and no pump is running (after a crash, a billing pause that ended, a long queue)."""
    from billing.state import can_send

    from .abtest import decide_due
    from .actions import blasts_launch_due
    from .journal import is_alive, same_host
    from .models import Blast, Delivery

    launched = blasts_launch_due()
    decided = decide_due()
    reaped = pipeline.reap(older_than=reap_after)
    restarted = 0
    schema = connection.schema_name
    for channel in ("email", "sms", "voice", "social"):
        # Queued rows of sending blasts (not a blast whose rest is held for its A/B winner).
        waiting = Delivery.objects.filter(
            status=Delivery.Status.QUEUED, channel=channel, blast__isnull=True
        ).exists() or (
            Delivery.objects.filter(
                status=Delivery.Status.QUEUED, channel=channel, blast__status=Blast.Status.SENDING
            ).exists()
            and can_send(connection.tenant)
        )
        beat = pipeline.rate.client().get(pipeline.heartbeat_key(schema, channel))
        alive = bool(beat) and (is_alive(beat.decode()) or not same_host(beat.decode()))
        if waiting and not alive:
            start_pumps(channel)
            restarted += 1
    return {"launched": launched, "decided": decided, "reaped": reaped, "pumps": restarted}


@app.task(name="comms.tick")
def tick() -> None:
    """Beat, every minute, in public: each active nation's tick in its schema."""
    from tenants.models import Nation

    for nation in Nation.objects.filter(status="active").exclude(schema_name="public"):
        with schema_context(nation.schema_name):
            connection.set_tenant(nation)
            tick_nation()


@app.task(name="comms.poll_bounces")
def poll_bounces() -> dict:
    """Beat, every minute, in public: read the bounce mailbox (IMAP and/or Maildir) if one is
    configured; each report is applied in its nation's schema (dsn.bounce_process)."""
    from .mailbox import poll

    if not (settings.COMMS_BOUNCE_IMAP_URL or settings.COMMS_BOUNCE_MAILDIR):
        return {}
    return dict(poll())
