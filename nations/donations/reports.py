"""Donor reports (selectors): totals over time, by page and tracking code, recurring revenue,
top donors. Each is one aggregate query on the gifts table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from html import escape

from django.db.models import Count, F, Max, Min, Q, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from .models import COUNTED, Donation, RecurringDonation

PERIODS = {"day": (TruncDay, 30), "week": (TruncWeek, 12), "month": (TruncMonth, 12)}
MAX_COLUMNS = 370  # a range longer than this many days/weeks/months is refused


class RangeError(ValueError):
    """A date range staff cannot report on, with the message to show."""


@dataclass(frozen=True)
class DateRange:
    """Inclusive dates in the nation's time zone; either end may be open."""

    start: date | None = None
    end: date | None = None

    def __bool__(self) -> bool:
        return bool(self.start or self.end)

    def apply(self, gifts, field: str = "paid_at"):
        if self.start:
            gifts = gifts.filter(**{f"{field}__date__gte": self.start})
        if self.end:
            gifts = gifts.filter(**{f"{field}__date__lte": self.end})
        return gifts

    def query(self) -> str:
        """The filter as URL parameters, to carry to the period links and the CSV export."""
        parts = {"from": self.start, "to": self.end}
        return "&".join(f"{k}={v.isoformat()}" for k, v in parts.items() if v)


def parse_range(params) -> DateRange:
    """?from=YYYY-MM-DD&to=YYYY-MM-DD -> DateRange, or RangeError with a message for staff."""
    from django.utils.translation import gettext as _

    found = {}
    for name in ("from", "to"):
        raw = (params.get(name) or "").strip()
        if not raw:
            continue
        try:
            found[name] = date.fromisoformat(raw)
        except ValueError:
            raise RangeError(_("Enter dates as YYYY-MM-DD, like 2026-01-31.")) from None
    rng = DateRange(found.get("from"), found.get("to"))
    if rng.start and rng.end and rng.start > rng.end:
        raise RangeError(_("The start date must be on or before the end date."))
    return rng


def _bucket_start(moment, by: str):
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if by == "day":
        return day
    if by == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _range_starts(by: str, rng: DateRange) -> list:
    """Every bucket start from the range's first day to its last (today when open-ended)."""
    from django.utils.translation import gettext as _

    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    first_day = rng.start
    if first_day is None:
        oldest = Donation.objects.filter(COUNTED).aggregate(m=Min("paid_at"))["m"]
        first_day = timezone.localdate(oldest) if oldest else (rng.end or today)
    last_day = rng.end or today
    cursor = _bucket_start(datetime.combine(first_day, time(), tzinfo=tz), by)
    end = datetime.combine(last_day, time(), tzinfo=tz)
    starts = []
    while cursor <= end:
        starts.append(cursor)
        if len(starts) > MAX_COLUMNS:
            raise RangeError(_("This range is too long for this view: pick weeks or months."))
        if by == "day":
            cursor = (cursor + timedelta(days=1)).replace(tzinfo=tz)
        elif by == "week":
            cursor = (cursor + timedelta(days=7)).replace(tzinfo=tz)
        else:
            cursor = (cursor + timedelta(days=32)).replace(day=1)
    return starts


def totals_over_time(by: str = "week", rng: DateRange | None = None) -> list[dict]:
    """[{start, total, count}] per day/week/month, gaps as zeros: over the range when one is
    given (RangeError when too long), else the last 30 days / 12 weeks / 12 months."""
    trunc, n = PERIODS.get(by, PERIODS["week"])
    if rng:
        starts = _range_starts(by, rng)
        rows = rng.apply(Donation.objects.filter(COUNTED))
        return _fill(starts, rows, trunc)
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
    return _fill(starts, Donation.objects.filter(COUNTED, paid_at__gte=starts[0]), trunc)


def _fill(starts: list, gifts, trunc) -> list[dict]:
    rows = (
        gifts.annotate(period=trunc("paid_at"))
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


def headline(rng: DateRange | None = None) -> dict:
    counted = (rng or DateRange()).apply(Donation.objects.filter(COUNTED))
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


def by_page_and_source(rng: DateRange | None = None) -> list[dict]:
    return list(
        (rng or DateRange())
        .apply(Donation.objects.filter(COUNTED))
        .values("page__title", "source")
        .annotate(total=Sum(F("amount") - F("refunded_amount")), count=Count("id"))
        .order_by("-total")[:50]
    )


def top_donors(limit: int = 10, rng: DateRange | None = None) -> list[dict]:
    return list(
        (rng or DateRange())
        .apply(Donation.objects.filter(COUNTED, person__isnull=False))
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
