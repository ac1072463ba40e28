"""The automation engine: what one nation's tick does, with an explicit `now` (tests advance
time by passing it; beat passes nothing).

1. **Exits and enrolments** from the timeline: every write of the code base records an
   `Activity` (tags, list joins, signatures, gifts — one by one or in bulk), so the engine reads
   the new entries past a per-nation cursor, with one INSERT … SELECT per active automation. No
   other app calls us. The last AUTOMATIONS_LOOKBACK seconds are re-read each tick, because a
   long transaction (a bulk tag, an import chunk) can commit entries with ids below the cursor;
   a re-read is harmless since an entry enrols a person at most once per automation (unique
   `(automation, source_activity_id)`).
2. **Date triggers** ("N days after being added"): people whose N-day mark fell between the
   last tick and now, one range query on the indexed `created_at`. Birthdays: people whose
   (month, day) is today in the nation's time zone (or a day missed since the last tick, a few
   days back at most), through the expression index `person_birthday`; once a year each.
3. **Due enrolments**: rows with `next_run_at <= now` (partial index over active rows), claimed
   `FOR UPDATE SKIP LOCKED` in batches; each step's effect, its StepRun (unique per enrolment and
   sequence number) and the enrolment's move commit in one transaction, so a crash rolls all of
   it back and a repeated tick finds nothing left to do: an email is queued exactly once.

Loops: an entry written by a step carries the chain of automations that caused it; an
automation never enrols someone from an entry its own chain contains (A tags → B tags → A), and
chains stop at AUTOMATIONS_MAX_DEPTH. The automation then shows what was stopped and why.
"""

from __future__ import annotations

import calendar
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from nations.panel.fields import nation_zone
from nations.people.models import Activity, Person

from .models import Automation, EngineState, Enrolment, Step

log = logging.getLogger(__name__)

# Steps run set-based for a whole batch (the others one enrolment at a time, in Python).
BULK_KINDS = {Step.Kind.TAG, Step.Kind.UNTAG, Step.Kind.LIST}
TRIGGER_KINDS = {
    Automation.Trigger.TAG: ("tagged",),
    Automation.Trigger.LIST: ("listed",),
    Automation.Trigger.PAGE: ("signed", "rsvp", "other"),
    Automation.Trigger.DONATION: ("donated",),
}


@dataclass
class TickResult:
    enrolled: int = 0
    exited: int = 0
    steps: int = 0
    loops: int = 0
    skipped: bool = False
    detail: dict = field(default_factory=dict)


def tick_nation(*, now: datetime | None = None) -> TickResult:
    """One tick of the current nation. Safe to run twice, or concurrently (a second runner
    waits for nothing: it finds the nation's tick lock taken and returns)."""
    now = now or timezone.now()
    result = TickResult()
    active = list(Automation.objects.filter(status=Automation.Status.ACTIVE))
    if not active:
        return result
    key = f"automations:{connection.schema_name}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
        if not cursor.fetchone()[0]:
            result.skipped = True
            return result
    try:
        with transaction.atomic():
            _consume_timeline(active, now, result)
            _date_triggers(active, now, result)
        result.steps = advance_due(now=now, automations=active)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])
    return result


# --- 1. the timeline -------------------------------------------------------------------------
def _window(state: EngineState, now: datetime) -> tuple[int, int]:
    """(lo, hi]: entries to read this tick. lo is the cursor as it was AUTOMATIONS_LOOKBACK
    seconds ago (or the current one on the first ticks)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Activity._meta.db_table}")
        hi = cursor.fetchone()[0]
    horizon = (now - timedelta(seconds=settings.AUTOMATIONS_LOOKBACK)).isoformat()
    points = [p for p in state.checkpoints if isinstance(p, list) and len(p) == 2]
    older = [p for p in points if p[0] <= horizon]
    lo = older[-1][1] if older else (points[0][1] if points else state.activity_cursor)
    lo = min(lo, state.activity_cursor)
    keep = ([older[-1]] if older else []) + [p for p in points if p[0] > horizon]
    state.checkpoints = [*keep, [now.isoformat(), hi]][-50:]
    state.activity_cursor = max(hi, state.activity_cursor)
    state.last_tick_at = now
    return lo, hi


def _match(automation: Automation) -> tuple[str, dict] | None:
    """SQL condition on `a` (people_activity) for this automation's trigger, or None."""
    kinds = TRIGGER_KINDS.get(automation.trigger)
    if not kinds:
        return None
    sql = "a.kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"
    params: dict = {}
    if automation.trigger == Automation.Trigger.TAG:
        sql += " AND a.summary = %(value)s"
        params["value"] = automation.trigger_tag
    elif automation.trigger == Automation.Trigger.LIST:
        if automation.trigger_list is None:
            return None
        sql += " AND a.summary = %(value)s"
        params["value"] = automation.trigger_list.name
    elif automation.trigger == Automation.Trigger.PAGE:
        page = automation.trigger_page
        if page is None:
            return None
        # Someone new is recorded with the page's source only; someone known also with its id.
        sql += " AND (a.data->>'page' = %(page_id)s OR a.data->>'source' = %(source)s)"
        params.update(page_id=str(page.pk), source=f"page:{page.slug}")
    elif automation.trigger == Automation.Trigger.DONATION and automation.trigger_min_amount:
        sql += " AND COALESCE((a.data->>'amount')::bigint, 0) >= %(min_amount)s"
        params["min_amount"] = automation.trigger_min_amount
    return sql, params


def _first_step_id(automation: Automation) -> int | None:
    return (
        Step.objects.filter(automation=automation)
        .order_by("position")
        .values_list("pk", flat=True)
        .first()
    )


def _consume_timeline(active: list[Automation], now: datetime, result: TickResult) -> None:
    state, _ = EngineState.objects.select_for_update().get_or_create(pk=1)
    lo, hi = _window(state, now)
    if hi > lo:
        for automation in active:
            result.exited += _exits(automation, lo, hi, now)
        for automation in active:
            _enrol_from_timeline(automation, lo, hi, now, result)
    state.save()


def _exits(automation: Automation, lo: int, hi: int, now: datetime) -> int:
    rules, params = [], {"lo": lo, "hi": hi, "aid": automation.pk, "now": now}
    if automation.exit_tag:
        rules.append("(a.kind = 'tagged' AND a.summary = %(exit_tag)s)")
        params["exit_tag"] = automation.exit_tag
    if automation.exit_on_donation:
        rules.append("a.kind = 'donated'")
    if not rules:
        return 0
    params["message"] = _("Left: met the exit rule.")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Enrolment._meta.db_table} e SET state = 'exited', next_run_at = NULL,"
            " finished_at = %(now)s, message = %(message)s"
            f" FROM {Activity._meta.db_table} a"
            " WHERE e.automation_id = %(aid)s AND e.state = 'active' AND a.person_id = e.person_id"
            " AND a.id > %(lo)s AND a.id <= %(hi)s AND a.id > COALESCE(e.source_activity_id, 0)"
            f" AND a.kind IN ('tagged', 'donated') AND ({' OR '.join(rules)})",
            params,
        )
        return cursor.rowcount


def _enrol_from_timeline(
    automation: Automation, lo: int, hi: int, now: datetime, result: TickResult
) -> None:
    match = _match(automation)
    first = _first_step_id(automation)
    if match is None or first is None:
        return
    condition, params = match
    params.update(
        lo=max(lo, automation.activity_floor),
        hi=hi,
        aid=automation.pk,
        aid_json=json.dumps([automation.pk]),
        max_depth=settings.AUTOMATIONS_MAX_DEPTH,
        first=first,
        now=now,
    )
    enrolment, person = Enrolment._meta.db_table, Person._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH cand AS (SELECT a.id, a.person_id, COALESCE(a.data->'chain', '[]'::jsonb)"
            f" AS chain FROM {Activity._meta.db_table} a WHERE a.id > %(lo)s AND a.id <= %(hi)s"
            f" AND {condition}),"
            " looped AS (SELECT chain FROM cand WHERE chain @> %(aid_json)s::jsonb"
            " OR jsonb_array_length(chain) >= %(max_depth)s LIMIT 1),"
            " src AS (SELECT DISTINCT ON (person_id) id, person_id, chain FROM cand"
            " WHERE NOT chain @> %(aid_json)s::jsonb AND jsonb_array_length(chain) < %(max_depth)s"
            " ORDER BY person_id, id),"
            f" ins AS (INSERT INTO {enrolment} (automation_id, person_id, step_id, state,"
            " next_run_at, runs, hops, source_activity_id, chain, message, started_at)"
            " SELECT %(aid)s, src.person_id, %(first)s, 'active', %(now)s, 0, 0, src.id,"
            f" src.chain, '', %(now)s FROM src JOIN {person} p ON p.id = src.person_id"
            f" WHERE NOT p.is_erased AND {_not_enrolled('src.person_id', automation)}"
            " ON CONFLICT DO NOTHING RETURNING 1)"
            " SELECT (SELECT count(*) FROM ins), (SELECT chain FROM looped)",
            params,
        )
        enrolled, looped = cursor.fetchone()
    result.enrolled += enrolled
    if looped is not None:
        result.loops += 1
        chain = json.loads(looped) if isinstance(looped, str) else looped
        _flag_loop(automation, chain, now)


def _not_enrolled(person: str, automation: Automation) -> str:
    """SQL: `person` may enter (once only: never entered; again: not in it now).

    A scalar subquery per candidate on purpose: written as NOT EXISTS, PostgreSQL plans an
    anti join that, without statistics on a fresh table, scans every row of the automation
    for each candidate — quadratic (23 s for 10k people); this is one index probe each."""
    state = "" if automation.reentry == Automation.Reentry.ONCE else " AND e.state = 'active'"
    return (
        f"(SELECT true FROM {Enrolment._meta.db_table} e WHERE e.person_id = {person}"
        f" AND e.automation_id = %(aid)s{state} LIMIT 1) IS NULL"
    )


def _flag_loop(automation: Automation, chain: list, now: datetime) -> None:
    names = dict(Automation.objects.filter(pk__in=chain).values_list("pk", "name"))
    path = " → ".join([*(names.get(i, f"#{i}") for i in chain), automation.name])
    if automation.pk in chain:
        message = _(
            "Loop stopped: %(path)s. People reaching this automation again through this chain"
            " were not enrolled. Change a trigger or a step so the automations stop feeding"
            " each other."
        ) % {"path": path}
    else:
        message = _(
            "Chain stopped: %(path)s is more than %(n)s automations deep; nobody was enrolled"
            " from it."
        ) % {"path": path, "n": settings.AUTOMATIONS_MAX_DEPTH}
    Automation.objects.filter(pk=automation.pk).update(problem=message[:500], problem_at=now)
    automation.problem = message[:500]
    log.warning("automation %s: %s", automation.pk, message)


# --- 2. dates --------------------------------------------------------------------------------
def _date_triggers(active: list[Automation], now: datetime, result: TickResult) -> None:
    for automation in active:
        if automation.trigger == Automation.Trigger.CREATED and automation.trigger_days is not None:
            _days_after_added(automation, now, result)
        elif automation.trigger == Automation.Trigger.BIRTHDAY:
            _birthdays(automation, now, result)


def _days_after_added(automation: Automation, now: datetime, result: TickResult) -> None:
    first = _first_step_id(automation)
    since = automation.date_cursor or automation.activated_at or now
    if first is None or since >= now:
        return
    offset = timedelta(days=automation.trigger_days or 0)
    enrolment = Enrolment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {enrolment} (automation_id, person_id, step_id, state, next_run_at,"
            " runs, hops, source_activity_id, chain, message, started_at)"
            " SELECT %(aid)s, p.id, %(first)s, 'active', %(now)s, 0, 0, NULL, '[]', '',"
            f" %(now)s FROM {Person._meta.db_table} p"
            " WHERE p.created_at > %(lo)s AND p.created_at <= %(hi)s AND NOT p.is_erased"
            f" AND {_not_enrolled('p.id', automation)} ON CONFLICT DO NOTHING",
            {
                "aid": automation.pk,
                "first": first,
                "now": now,
                "lo": since - offset,
                "hi": now - offset,
            },
        )
        result.enrolled += cursor.rowcount
    Automation.objects.filter(pk=automation.pk).update(date_cursor=now)


def birthdays_on(day: date) -> list[tuple[int, int]]:
    """The (month, day) birthdates celebrated on this calendar day: 29 February is celebrated
    on 28 February in the years without one."""
    pairs = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        pairs.append((2, 29))
    return pairs


def _birthdays(automation: Automation, now: datetime, result: TickResult) -> None:
    """People whose birthday is today in the nation's time zone, plus the days missed since the
    last tick (at most AUTOMATIONS_BIRTHDAY_CATCHUP_DAYS back, never before activation, which
    resets the cursor). Once a year whatever the re-entry rule: the birthday's year is part of
    the enrolment's unique key, so today is read again at every tick (people added or edited
    during the day) and a repeated tick enrols nobody twice. One index probe per (month, day)
    on person_birthday: a day's birthdays, not the people table."""
    first = _first_step_id(automation)
    since = automation.date_cursor or automation.activated_at or now
    if first is None or since > now:
        return
    zone = nation_zone(connection.tenant)
    today = now.astimezone(zone).date()
    start = max(
        since.astimezone(zone).date(),
        today - timedelta(days=settings.AUTOMATIONS_BIRTHDAY_CATCHUP_DAYS),
    )
    days = [
        (day.year, month, dom)
        for day in (start + timedelta(days=n) for n in range((today - start).days + 1))
        for month, dom in birthdays_on(day)
    ]
    month, day = "EXTRACT(MONTH FROM p.birthdate)", "EXTRACT(DAY FROM p.birthdate)"
    # The (month, day) pairs are also spelled out as constants: an index condition each (a
    # BitmapOr), where the join alone could be planned as a read of every birth date.
    pairs = " OR ".join([f"({month} = %s AND {day} = %s)"] * len(days))
    values = ", ".join(["(%s, %s, %s)"] * len(days))
    enrolment = Enrolment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {enrolment} (automation_id, person_id, step_id, state, next_run_at,"
            " runs, hops, source_activity_id, chain, message, started_at, occasion)"
            " SELECT %s, p.id, %s, 'active', %s, 0, 0, NULL, '[]', '', %s, d.year"
            f" FROM {Person._meta.db_table} p JOIN (VALUES {values}) AS d (year, month, day)"
            f" ON {month} = d.month AND {day} = d.day"
            f" WHERE p.birthdate IS NOT NULL AND ({pairs}) AND NOT p.is_erased"
            # A scalar subquery, not NOT EXISTS: see _not_enrolled.
            f" AND (SELECT true FROM {enrolment} e WHERE e.automation_id = %s"
            " AND e.person_id = p.id AND e.occasion = d.year LIMIT 1) IS NULL"
            " ON CONFLICT DO NOTHING",
            [
                automation.pk, first, now, now,
                *(v for row in days for v in row),
                *(v for _, m, d in days for v in (m, d)),
                automation.pk,
            ],
        )  # fmt: skip
        result.enrolled += cursor.rowcount
    Automation.objects.filter(pk=automation.pk).update(date_cursor=now)


# --- 3. due enrolments -----------------------------------------------------------------------
def advance_due(*, now: datetime, automations: list[Automation] | None = None) -> int:
    """Run every due step of the active automations; returns how many steps ran."""
    from .steps import Runner

    automations = automations or list(Automation.objects.filter(status=Automation.Status.ACTIVE))
    if not automations:
        return 0
    runner = Runner(automations, now)
    ids = [a.pk for a in automations]
    total = 0
    enrolments = Enrolment._meta.db_table
    while True:
        with transaction.atomic():
            # Ids and steps only: most due rows are at a wait, which runs as set-based SQL
            # (Runner.run_waits); only the others are loaded as objects.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, step_id FROM {enrolments} WHERE state = 'active'"
                    " AND next_run_at <= %s AND automation_id = ANY(%s)"
                    " ORDER BY next_run_at LIMIT %s FOR UPDATE SKIP LOCKED",
                    [now, ids, settings.AUTOMATIONS_BATCH],
                )
                claimed = cursor.fetchall()
            if not claimed:
                break
            waits: dict[int, list[int]] = {}
            bulk: dict[int, list[int]] = {}
            others = []
            for enrolment_id, step_id in claimed:
                step = runner.steps.get(step_id)
                if step is not None and step.kind == Step.Kind.WAIT:
                    waits.setdefault(step_id, []).append(enrolment_id)
                elif step is not None and step.kind in BULK_KINDS:
                    bulk.setdefault(step_id, []).append(enrolment_id)
                else:
                    others.append(enrolment_id)
            for step_id, enrolment_ids in waits.items():
                runner.run_waits(runner.steps[step_id], enrolment_ids)
            for step_id, enrolment_ids in bulk.items():
                others += runner.run_bulk(runner.steps[step_id], enrolment_ids)
            if others:
                runner.run(list(Enrolment.objects.filter(pk__in=others)))
        total += len(claimed)
    return total


def describe_wait(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours = rest // 3600
    if days and hours:
        return _("%(d)s d %(h)s h") % {"d": days, "h": hours}
    if days:
        return _("%(d)s d") % {"d": days}
    return _("%(h)s h") % {"h": hours}
