"""Automation engine benchmarks (nations/automations): the cost of one tick of a nation with
100k people enrolled in an automation.

- `automations_tick_idle_100k_ms`: nothing due — what every nation pays every minute.
- `automations_tick_1pct_100k_ms`: 1% of the 100k due on a wait step (control step, no effect).
- `automations_tick_100pct_100k_ms`: all 100k due on a wait step.
- `automations_tick_1pct_tag_100k_ms`: 1% due on an "add a tag" step (one person_tag per
  person, with its timeline entry carrying the causal chain).
- `automations_enrol_10k_ms`: a bulk tag of 10k people read from the timeline and enrolled.
- `automations_birthday_first_tick_100k_ms` / `automations_birthday_tick_100k_ms`: a birthday
  automation's first tick of the day (the day's ~2.7k birthdays, as many as 1M people have,
  enrolled) and each later tick that day (read again, nobody new).
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from .report import Report

PEOPLE = 100_000


def _nation():
    from billing.limits import forget_plan
    from billing.models import Plan, Subscription
    from tenants.actions import Owner, nation_create
    from tenants.models import Nation

    nation = Nation.objects.filter(slug="bench-automations").first()
    if nation is None:
        nation = nation_create(
            name="Bench Automations",
            slug="bench-automations",
            country="FR",
            language="en",
            owner=Owner(full_name="B", email="bench-automations@example.org", password="x" * 12),
        )
    Subscription.objects.filter(nation=nation).update(plan=Plan.objects.get(code="organizer"))
    forget_plan(nation.pk)
    return nation


def _timed(func) -> float:
    started = time.perf_counter()
    func()
    return (time.perf_counter() - started) * 1000


def bench_automations(report: Report) -> None:
    from nations.automations import actions
    from nations.automations.engine import tick_nation
    from nations.automations.models import Automation, Enrolment, Step
    from nations.people.actions import people_tag_bulk
    from nations.people.models import Person

    nation = _nation()
    with schema_context(nation.schema_name):
        connection.set_tenant(nation)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM people_person")
            if cursor.fetchone()[0] < PEOPLE:
                cursor.execute(
                    "INSERT INTO people_person (first_name, middle_name, last_name, email, phone,"
                    " address1, address2, city, postal_code, region, country, language, employer,"
                    " occupation, social, custom, points, email_consent, sms_consent,"
                    " phone_consent, post_consent, donations_count, donations_total,"
                    " search_text, is_erased, created_at, updated_at)"
                    " SELECT 'P' || g, '', 'Bench', 'p' || g || '@example.org', '', '', '', 'Lyon',"
                    " '69001', '', 'FR', 'fr', '', '', '{}', '{}', 0, 'granted', 'unknown',"
                    " 'unknown', 'unknown', 0, 0, 'p' || g, false, now(), now()"
                    " FROM generate_series(1, %s) g",
                    [PEOPLE],
                )
        Automation.objects.all().delete()
        wait = Automation.objects.create(name="Wait", trigger_tag="bench-wait")
        wait_step = Step.objects.create(
            automation=wait, position=1, kind="wait", config={"days": 1}
        )
        Step.objects.create(automation=wait, position=2, kind="tag", config={"tag": "bench-done"})
        wait = actions.automation_activate(automation=wait)
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO automations_enrolment (automation_id, person_id, step_id, state,"
                " next_run_at, runs, hops, chain, message, started_at)"
                " SELECT %s, id, %s, 'active', %s, 0, 0, '[]', '', %s FROM people_person"
                " ORDER BY id LIMIT %s",
                [wait.pk, wait_step.pk, now + timedelta(days=30), now, PEOPLE],
            )
            cursor.execute("ANALYZE automations_enrolment")
        people_ids = list(Person.objects.order_by("id").values_list("id", flat=True)[:PEOPLE])

        def make_due(share: float, step: Step) -> None:
            Enrolment.objects.filter(automation=wait).update(
                state="active", step=wait_step, next_run_at=now + timedelta(days=30), runs=0
            )
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM automations_steprun")
            due = Enrolment.objects.filter(automation=wait)
            if share < 1:
                due = due.filter(person_id__in=people_ids[: int(len(people_ids) * share)])
            due.update(step=step, next_run_at=now - timedelta(minutes=1))

        idle = [_timed(lambda: tick_nation(now=now)) for _ in range(5)]
        report.add(
            "automations_tick_idle_100k_ms",
            statistics.median(idle),
            "ms",
            rounds_ms=[round(r, 1) for r in idle],
            what="tick of a nation with 100k enrolments, none due",
        )
        for share, name in ((0.01, "1pct"), (1.0, "100pct")):
            rounds = []
            for _ in range(3 if share < 1 else 1):
                make_due(share, wait_step)
                rounds.append(_timed(lambda: tick_nation(now=now)))
                assert not Enrolment.objects.filter(next_run_at__lte=now, state="active").exists()
            report.add(
                f"automations_tick_{name}_100k_ms",
                statistics.median(rounds),
                "ms",
                rounds_ms=[round(r, 1) for r in rounds],
                due=int(PEOPLE * share),
                what=f"tick with {int(PEOPLE * share)} of 100k enrolments due on a wait step",
            )
        tag_step = Step.objects.get(automation=wait, position=2)
        rounds = []
        for _ in range(3):
            make_due(0.01, tag_step)
            rounds.append(_timed(lambda: tick_nation(now=now)))
        report.add(
            "automations_tick_1pct_tag_100k_ms",
            statistics.median(rounds),
            "ms",
            rounds_ms=[round(r, 1) for r in rounds],
            due=int(PEOPLE * 0.01),
            what="tick with 1k of 100k enrolments due on an 'add a tag' step",
        )

        enrol = Automation.objects.create(name="Enrol", trigger_tag="bench-enrol", reentry="again")
        Step.objects.create(automation=enrol, position=1, kind="wait", config={"days": 1})
        actions.automation_activate(automation=enrol)
        people_tag_bulk(
            people=Person.objects.filter(pk__in=people_ids[:10_000]), tag_name="bench-enrol"
        )
        later = timezone.now() + timedelta(seconds=1)
        ms = _timed(lambda: tick_nation(now=later))
        enrolled = Enrolment.objects.filter(automation=enrol).count()
        assert enrolled == 10_000, enrolled
        report.add(
            "automations_enrol_10k_ms",
            ms,
            "ms",
            what="tick reading a bulk tag of 10k people from the timeline: 10k enrolled and"
            " their first (wait) step run",
        )
        _bench_birthdays(report, now)
        connection.set_schema_to_public()


def _bench_birthdays(report: Report, now) -> None:
    """A birthday automation alone: the 100k people's birth dates fall on 36 days, so each day
    has the ~2.7k birthdays a nation of 1M has (the read is by (month, day) on person_birthday,
    so its cost follows one day's birthdays, not the size of the table)."""
    from nations.automations import actions
    from nations.automations.engine import tick_nation
    from nations.automations.models import Automation, Enrolment, Step
    from nations.panel.fields import nation_zone

    for automation in Automation.objects.filter(status="active"):
        actions.automation_pause(automation=automation)
    today = now.astimezone(nation_zone(connection.tenant)).date()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE people_person SET birthdate = make_date(2000, %s, %s) - (id %% 36)::int",
            [today.month, today.day],
        )
        cursor.execute("ANALYZE people_person")
    birthday = Automation.objects.create(name="Birthday", trigger="birthday")
    Step.objects.create(automation=birthday, position=1, kind="wait", config={"days": 1})
    actions.automation_activate(automation=birthday, now=now)
    first = _timed(lambda: tick_nation(now=now + timedelta(seconds=1)))
    born_today = Enrolment.objects.filter(automation=birthday).count()
    assert born_today > 2000, born_today
    again = [_timed(lambda m=m: tick_nation(now=now + timedelta(minutes=m))) for m in range(1, 6)]
    assert Enrolment.objects.filter(automation=birthday).count() == born_today
    report.add(
        "automations_birthday_first_tick_100k_ms",
        first,
        "ms",
        enrolled=born_today,
        what=f"first tick of the day: {born_today} of 100k people born on the day enrolled and"
        " their first (wait) step run",
    )
    report.add(
        "automations_birthday_tick_100k_ms",
        statistics.median(again),
        "ms",
        rounds_ms=[round(r, 1) for r in again],
        what=f"every later tick that day: the day's {born_today} birthdays read again, nobody new",
    )
