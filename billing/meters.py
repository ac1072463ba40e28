"""Monthly meters (emails, SMS), counted atomically in one statement, reset on the billing anchor.

    meter_consume(nation, "emails", 500)    # count 500 unless that passes the plan's limit
    meter_increment(nation, "emails", 1)    # count, whatever the limit (sent anyway)

A billing month runs from the anchor's day of month to the same day the next month (clamped
to short months); each month is its own row, so nothing has to reset the counters.
"""

from __future__ import annotations

import calendar
from datetime import datetime

from django.db import connection
from django.utils import timezone

from tenants.models import Nation

from .limits import anchor_for
from .models import MONTHLY_METRICS


def _add_months(moment: datetime, months: int, day: int) -> datetime:
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    month += 1
    return moment.replace(year=year, month=month, day=min(day, calendar.monthrange(year, month)[1]))


def period_start(anchor: datetime, now: datetime) -> datetime:
    """Start of the billing month containing `now`, for a subscription anchored at `anchor`."""
    months = (now.year - anchor.year) * 12 + now.month - anchor.month
    start = _add_months(anchor, months, anchor.day)
    if start > now:
        start = _add_months(anchor, months - 1, anchor.day)
    return start


def _cursor():
    """A cursor on Django's connection (same transaction) that skips django-tenants' per-cursor
    `SET search_path`: every statement here names public.billing_usagemeter, and that extra
    round trip would double the cost of a meter read on the hot path."""
    connection.ensure_connection()
    return connection.connection.cursor()


def _check(metric: str) -> None:
    if metric not in MONTHLY_METRICS:
        raise ValueError(f"{metric!r} is not a monthly meter; one of {MONTHLY_METRICS}")


def meter_increment(nation: Nation, metric: str, amount: int = 1, *, now=None) -> int:
    """Add `amount` to this month's meter; returns the new total. One INSERT … ON CONFLICT."""
    _check(metric)
    start = period_start(anchor_for(nation), now or timezone.now())
    with _cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.billing_usagemeter (nation_id, metric, period_start, used)"
            " VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (nation_id, metric, period_start)"
            " DO UPDATE SET used = billing_usagemeter.used + EXCLUDED.used"
            " RETURNING used",
            [nation.pk, metric, start, amount],
        )
        return cursor.fetchone()[0]


def meter_consume(nation: Nation, metric: str, amount: int = 1, *, now=None) -> int:
    """Count `amount` if the month stays within the plan's limit, else raise PlanLimitReached
    and count nothing. The check and the count are one statement, so concurrent senders can
    never pass the limit together."""
    from .limits import PlanLimitReached, plan_for  # noqa: I001

    _check(metric)
    plan = plan_for(nation)
    limit = plan.limit(metric)
    if limit is None:
        return meter_increment(nation, metric, amount, now=now)
    start = period_start(anchor_for(nation), now or timezone.now())
    row = None
    if amount <= limit:
        with _cursor() as cursor:
            cursor.execute(
                "INSERT INTO public.billing_usagemeter (nation_id, metric, period_start, used)"
                " VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (nation_id, metric, period_start)"
                " DO UPDATE SET used = billing_usagemeter.used + EXCLUDED.used"
                " WHERE billing_usagemeter.used + EXCLUDED.used <= %s"
                " RETURNING used",
                [nation.pk, metric, start, amount, limit],
            )
            row = cursor.fetchone()
    if row is None:
        current = meter_value(nation, metric, now=now)
        raise PlanLimitReached(metric, limit=limit, current=current, adding=amount, plan=plan.name)
    return row[0]


def meter_value(nation: Nation, metric: str, *, now=None) -> int:
    _check(metric)
    start = period_start(anchor_for(nation), now or timezone.now())
    with _cursor() as cursor:
        cursor.execute(
            "SELECT used FROM public.billing_usagemeter"
            " WHERE nation_id = %s AND metric = %s AND period_start = %s",
            [nation.pk, metric, start],
        )
        row = cursor.fetchone()
    return row[0] if row else 0
