"""Donor reports (selectors): totals over time, by page and tracking code, recurring revenue,
top donors. Each is one aggregate query on the gifts table."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from .models import COUNTED, Donation, RecurringDonation

PERIODS = {"day": (TruncDay, 30), "week": (TruncWeek, 12), "month": (TruncMonth, 12)}


def totals_over_time(by: str = "week") -> list[dict]:
    """[{start, total, count}] for the last 30 days / 12 weeks / 12 months, gaps as zeros."""
    trunc, n = PERIODS.get(by, PERIODS["week"])
    now = timezone.localtime()
    starts = []
    cursor = now
    for _i in range(n):
        if by == "day":
            start = cursor.replace(hour=0, minute=0, second=0, microsecond=0)
            cursor = start - timedelta(days=1)
        elif by == "week":
            day = cursor.replace(hour=0, minute=0, second=0, microsecond=0)
            start = day - timedelta(days=day.weekday())
            cursor = start - timedelta(days=1)
        else:
            start = cursor.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            cursor = start - timedelta(days=1)
        starts.append(start)
    starts.reverse()
    rows = (
        Donation.objects.filter(COUNTED, paid_at__gte=starts[0])
        .annotate(period=trunc("paid_at"))
        .values("period")
        .annotate(total=Sum(F("amount") - F("refunded_amount")), count=Count("id"))
    )
    found = {timezone.localtime(r["period"]).date(): r for r in rows}
    return [
        {
            "start": s,
            "total": (found.get(s.date()) or {}).get("total") or 0,
            "count": (found.get(s.date()) or {}).get("count") or 0,
        }
        for s in starts
    ]


def headline() -> dict:
    counted = Donation.objects.filter(COUNTED)
    month_start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    figures = counted.aggregate(
        total=Sum(F("amount") - F("refunded_amount")),
        gifts=Count("id"),
        donors=Count("person", distinct=True),
        month=Sum(F("amount") - F("refunded_amount"), filter=Q(paid_at__gte=month_start)),
    )
    active = RecurringDonation.objects.filter(status__in=["active", "past_due"])
    figures["recurring_count"] = active.count()
    figures["mrr"] = sum(r.monthly_amount for r in active.only("amount", "interval"))
    figures["failing"] = RecurringDonation.objects.filter(status="past_due").count()
    return {k: v or 0 for k, v in figures.items()}


def by_page_and_source() -> list[dict]:
    return list(
        Donation.objects.filter(COUNTED)
        .values("page__title", "source")
        .annotate(total=Sum(F("amount") - F("refunded_amount")), count=Count("id"))
        .order_by("-total")[:50]
    )


def top_donors(limit: int = 10) -> list[dict]:
    return list(
        Donation.objects.filter(COUNTED, person__isnull=False)
        .values("person_id", "person__first_name", "person__last_name", "person__email")
        .annotate(
            total=Sum(F("amount") - F("refunded_amount")), count=Count("id"), last=Max("paid_at")
        )
        .order_by("-total")[:limit]
    )


def column_chart(rows: list[tuple[str, int, str]], *, title: str) -> str:
    """A server-rendered SVG column chart; every column has its value as <title> and the
    table beneath carries the figures (readable without colour)."""
    n = max(1, len(rows))
    width, height, pad_b, pad_t = 720, 220, 28, 16
    col = width / n
    top = max((v for _l, v, _s in rows), default=0) or 1
    parts = [
        f'<svg class="chart donations-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="none">',
        f"<title>{escape(title)}</title>",
        f'<line x1="0" y1="{height - pad_b}" x2="{width}" y2="{height - pad_b}" stroke="#c4cad3"/>',
    ]
    every = max(1, n // 8)
    for i, (label, value, shown) in enumerate(rows):
        h = 0 if value <= 0 else max(2, round((height - pad_b - pad_t) * value / top))
        x = i * col + col * 0.15
        y = height - pad_b - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y}" width="{col * 0.7:.1f}" height="{h}" rx="2">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + col * 0.35:.1f}" y="{height - 8}" text-anchor="middle" '
                f'font-size="11">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
