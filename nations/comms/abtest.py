"""A/B test on a blast's subject, on top of the snapshot and claim pipeline.

1. The snapshot writes every row `held` (pipeline.snapshot), then `split` releases two random
   test groups of `ab_percent` % each: variant "a" (subject) and "b" (subject B) are queued and
   sent like any blast. The blast stays `sending` while rows are held, so it is not finished.
2. `decide_due` (the nation's minute tick) picks the winner of each blast whose wait is over, by
   the share of its group that opened (or clicked), A on a tie, and queues the held rows: they
   are rendered with the winner's subject (variant "" follows `Blast.ab_winner`).
Each step is one conditional UPDATE, so two ticks or a crash between steps never send twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from .models import Blast, Delivery


def split(blast: Blast, total: int) -> int:
    """Queue the two test groups (random people) and set when the winner is picked; returns
    the size of one group."""
    size = max(1, total * blast.ab_percent // 100) if total else 0
    size = min(size, total // 2) if total >= 2 else total
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE comms_delivery d SET status = 'queued',"
            " variant = CASE WHEN t.n <= %s THEN 'a' ELSE 'b' END"
            " FROM (SELECT id, row_number() OVER () AS n FROM"
            "   (SELECT id FROM comms_delivery WHERE blast_id = %s AND status = 'held'"
            "    ORDER BY random() LIMIT %s) AS r) AS t"
            " WHERE d.id = t.id",
            [size, blast.pk, size * 2],
        )
        Blast.objects.filter(pk=blast.pk).update(
            ab_decide_at=timezone.now() + timedelta(hours=blast.ab_wait_hours), ab_winner=""
        )
    return size


def variant_figures(blast: Blast) -> dict[str, dict[str, int]]:
    """{"a": {"sent", "opened", "clicked"}, "b": {...}} for the two test groups."""
    rows = (
        Delivery.objects.filter(blast=blast, variant__in=("a", "b"))
        .values_list("variant")
        .annotate(
            sent=Count("id", filter=Q(status=Delivery.Status.SENT)),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        )
        .order_by()
    )
    figures = {v: {"sent": 0, "opened": 0, "clicked": 0} for v in ("a", "b")}
    for variant, sent, opened, clicked in rows:
        figures[variant] = {"sent": sent, "opened": opened, "clicked": clicked}
    return figures


def pick_winner(blast: Blast) -> str:
    key = "clicked" if blast.ab_metric == "clicks" else "opened"
    figures = variant_figures(blast)

    def rate(variant: str) -> float:
        group = figures[variant]
        return group[key] / group["sent"] if group["sent"] else 0.0

    return "b" if rate("b") > rate("a") else "a"


def decide(blast: Blast) -> str:
    """Pick the winner now and queue the held rows; returns the winner ("" if already done)."""
    winner = pick_winner(blast)
    with transaction.atomic():
        if not Blast.objects.filter(pk=blast.pk, ab_winner="").update(ab_winner=winner):
            return ""
        Delivery.objects.filter(blast=blast, status=Delivery.Status.HELD).update(
            status=Delivery.Status.QUEUED
        )
    if blast.status in (Blast.Status.SENDING, Blast.Status.PAUSED):
        from .tasks import start_pumps

        start_pumps(blast.channel)
    return winner


def decide_due(now: datetime | None = None) -> int:
    """Decide every A/B test whose wait is over (the tick, every minute)."""
    due = Blast.objects.filter(
        ab_winner="",
        ab_decide_at__lte=now or timezone.now(),
        status__in=(Blast.Status.SENDING, Blast.Status.PAUSED),
    )
    return sum(1 for blast in due if decide(blast))
