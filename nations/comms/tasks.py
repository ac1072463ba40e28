"""Celery tasks of the pipeline. Pumps are sent with a broker priority: transactional pumps
(autoresponses, receipts, tests) jump ahead of blast pumps waiting in the queue."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_context

from config.celery import app
from config.tasks import nation_task

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


def start_pumps(channel: str, *, transactional: bool = False) -> None:
    if transactional:
        send_on_commit(pump_deliveries, channel, priority=TRANSACTIONAL_PRIORITY)
        return
    for _ in range(settings.COMMS_PUMPS):
        send_on_commit(pump_deliveries, channel)


@nation_task(name="comms.snapshot", acks_late=True)
def snapshot_blast(blast_id: int) -> int:
    return pipeline.snapshot(blast_id)


@nation_task(name="comms.pump", acks_late=True)
def pump_deliveries(channel: str = "email") -> dict:
    totals = pipeline.pump(channel)
    if totals.get("more"):
        send_on_commit(pump_deliveries, channel)  # autocommit: sent now
    return totals


def tick_nation(*, reap_after: float | None = None) -> dict:
    """One nation's minute: start due blasts, settle stuck rows, restart pumps where work waits
    and no pump is running (after a crash, a billing pause that ended, a long queue)."""
    from billing.state import can_send

    from .actions import blasts_launch_due
    from .journal import is_alive, same_host
    from .models import Blast, Delivery

    launched = blasts_launch_due()
    reaped = pipeline.reap(older_than=reap_after)
    restarted = 0
    schema = connection.schema_name
    for channel in ("email", "social"):
        waiting = (
            Delivery.objects.filter(
                status=Delivery.Status.QUEUED, channel=channel, blast__isnull=True
            ).exists()
            or Blast.objects.filter(channel=channel, status=Blast.Status.SENDING).exists()
        )
        beat = pipeline.rate.client().get(pipeline.heartbeat_key(schema, channel))
        alive = bool(beat) and (is_alive(beat.decode()) or not same_host(beat.decode()))
        if waiting and not alive and can_send(connection.tenant):
            start_pumps(channel)
            restarted += 1
    return {"launched": launched, "reaped": reaped, "pumps": restarted}


@app.task(name="comms.tick")
def tick() -> None:
    """Beat, every minute, in public: each active nation's tick in its schema."""
    from tenants.models import Nation

    for nation in Nation.objects.filter(status="active").exclude(schema_name="public"):
        with schema_context(nation.schema_name):
            connection.set_tenant(nation)
            tick_nation()
