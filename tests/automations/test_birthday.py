"""The birthday trigger: people enter on their birthday as a date in the nation's time zone,
29 February on 28 February in other years, once a year, a few missed days caught up after an
outage but nothing from before activation; each nation only ever enrols its own people."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from nations.automations import actions
from nations.automations.engine import tick_nation
from nations.automations.models import Automation, Enrolment
from nations.people.actions import person_create
from nations.people.models import Person
from tenants.models import Nation

from .conftest import make_automation, organizer, pump, sender

EMAIL = {
    "subject": "Joyeux anniversaire {{ person.first_name }}",
    "body": "<p>Bon anniversaire {{ person.first_name }} !</p>",
}


@pytest.fixture(autouse=True)
def nation_in_utc(in_alpha):
    in_zone(in_alpha.nation, "UTC")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def in_zone(nation, zone: str) -> None:
    Nation.objects.filter(pk=nation.pk).update(timezone=zone)
    nation.timezone = zone
    connection.tenant.timezone = zone


def born(birthdate: date, name: str, *, consent: bool = True) -> Person:
    person = person_create(first_name=name, email=f"{name.lower()}@example.org")
    Person.objects.filter(pk=person.pk).update(
        birthdate=birthdate, email_consent="granted" if consent else "unknown"
    )
    return person


def birthday_automation(at: datetime, *, steps=None, **fields) -> Automation:
    automation = make_automation(
        "Birthday",
        trigger="birthday",
        steps=steps or [("tag", {"tag": "birthday"})],
        activate=False,
        **fields,
    )
    return actions.automation_activate(automation=automation, now=at)


def enrolled(automation: Automation) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for name, year in Enrolment.objects.filter(automation=automation).values_list(
        "person__first_name", "occasion"
    ):
        out.setdefault(name, []).append(year)
    return out


def test_birthday_is_a_date_in_the_nations_time_zone(in_alpha, sink):
    in_zone(in_alpha.nation, "Europe/Paris")
    sender()
    automation = birthday_automation(utc(2025, 6, 14, 21, 0), steps=[("email", EMAIL)])
    born(date(1985, 6, 14), "Juin14")
    born(date(1990, 6, 15), "Ada")
    born(date(1991, 6, 15), "Silent", consent=False)
    erased = born(date(1992, 6, 15), "Gone")
    Person.objects.filter(pk=erased.pk).update(is_erased=True)
    born(date(1993, 6, 16), "Later")

    tick_nation(now=utc(2025, 6, 14, 21, 1))  # 23:01 in Paris: still the 14th
    assert enrolled(automation) == {"Juin14": [2025]}
    tick_nation(now=utc(2025, 6, 14, 22, 30))  # 00:30 on the 15th in Paris, the 14th in UTC
    assert enrolled(automation) == {"Juin14": [2025], "Ada": [2025], "Silent": [2025]}
    pump()
    [message] = sink.to("ada@example.org")
    assert message["Subject"] == "Joyeux anniversaire Ada"
    assert "Bon anniversaire Ada" in message.get_body(("html",)).get_content()
    assert sink.to("silent@example.org") == []  # entered, but no email without consent
    assert sink.to("gone@example.org") == []


def test_29_february_is_celebrated_on_28_february_in_other_years(in_alpha):
    automation = birthday_automation(utc(2025, 2, 27, 12))
    born(date(2000, 2, 29), "Leap")
    born(date(1990, 2, 28), "Eve")
    born(date(1990, 3, 1), "March")
    tick_nation(now=utc(2025, 2, 28, 10))
    assert enrolled(automation) == {"Leap": [2025], "Eve": [2025]}
    tick_nation(now=utc(2025, 3, 1, 10))
    assert enrolled(automation) == {"Leap": [2025], "Eve": [2025], "March": [2025]}
    # 2028 has a 29 February: that is the day.
    tick_nation(now=utc(2028, 2, 28, 10))
    assert enrolled(automation)["Leap"] == [2025]
    tick_nation(now=utc(2028, 2, 29, 10))
    assert sorted(enrolled(automation)["Leap"]) == [2025, 2028]
    assert sorted(enrolled(automation)["Eve"]) == [2025, 2028]


def test_ticks_run_twice_or_after_a_crash_enrol_nobody_twice(in_alpha):
    automation = birthday_automation(
        utc(2025, 5, 1, 6), steps=[("wait", {"days": 1}), ("tag", {"tag": "birthday"})]
    )
    ada = born(date(1990, 5, 1), "Ada")
    now = utc(2025, 5, 1, 8)
    assert tick_nation(now=now).enrolled == 1
    assert tick_nation(now=now).enrolled == 0
    assert tick_nation(now=now + timedelta(hours=10)).enrolled == 0
    # A tick that died before moving the cursor: the next one reads the same days again.
    Automation.objects.filter(pk=automation.pk).update(date_cursor=utc(2025, 4, 30, 8))
    assert tick_nation(now=now + timedelta(hours=11)).enrolled == 0
    assert Enrolment.objects.filter(person=ada).count() == 1


def test_once_a_year_whatever_the_reentry_rule(in_alpha):
    automation = birthday_automation(utc(2025, 9, 1), reentry="once")
    ada = born(date(1990, 9, 2), "Ada")
    for year in (2025, 2026, 2027):
        tick_nation(now=utc(year, 9, 2, 9))
        tick_nation(now=utc(year, 9, 2, 18))
    assert sorted(Enrolment.objects.filter(person=ada).values_list("occasion", flat=True)) == [
        2025, 2026, 2027,
    ]  # fmt: skip
    assert set(Enrolment.objects.filter(automation=automation).values_list("state", flat=True)) == {
        "completed"
    }


def test_still_walking_last_years_path_skips_this_year(in_alpha):
    automation = birthday_automation(utc(2025, 9, 1), steps=[("wait", {"days": 400}), ("end", {})])
    ada = born(date(1990, 9, 2), "Ada")
    tick_nation(now=utc(2025, 9, 2, 9))
    tick_nation(now=utc(2026, 9, 2, 9))  # one walk at a time per person
    assert list(Enrolment.objects.filter(person=ada).values_list("occasion", flat=True)) == [2025]
    assert enrolled(automation) == {"Ada": [2025]}


def test_missed_days_are_caught_up_a_few_days_back_only(in_alpha, settings):
    settings.AUTOMATIONS_BIRTHDAY_CATCHUP_DAYS = 3
    automation = birthday_automation(utc(2025, 3, 1, 8))
    for day in range(1, 11):
        born(date(1980, 3, day), f"M{day}")
    tick_nation(now=utc(2025, 3, 1, 8, 1))
    tick_nation(now=utc(2025, 3, 3, 8))  # the worker was down on the 2nd
    assert set(enrolled(automation)) == {"M1", "M2", "M3"}
    tick_nation(now=utc(2025, 3, 10, 8))  # down for a week: the last three days and today
    assert set(enrolled(automation)) == {"M1", "M2", "M3", "M7", "M8", "M9", "M10"}


def test_nothing_from_before_activation_nor_while_paused(in_alpha):
    for day in range(3, 10):
        born(date(1980, 3, day), f"M{day}")
    automation = birthday_automation(utc(2025, 3, 5, 9))
    tick_nation(now=utc(2025, 3, 5, 9, 1))
    assert set(enrolled(automation)) == {"M5"}  # the day it was turned on counts
    actions.automation_pause(automation=automation)
    tick_nation(now=utc(2025, 3, 6, 9))
    actions.automation_activate(automation=automation, now=utc(2025, 3, 8, 9))
    tick_nation(now=utc(2025, 3, 8, 9, 1))
    assert set(enrolled(automation)) == {"M5", "M8"}


def test_a_nations_birthdays_enrol_only_its_own_people(in_alpha, bravo):
    in_zone(in_alpha.nation, "Europe/Paris")
    alpha_automation = birthday_automation(utc(2025, 6, 14, 12))
    born(date(1990, 6, 15), "Ada")
    now = utc(2025, 6, 14, 22, 30)  # the 15th in Paris, the 14th in New York
    connection.set_schema_to_public()
    organizer(bravo.nation)
    with schema_context(bravo.nation.schema_name):
        connection.set_tenant(bravo.nation)
        in_zone(bravo.nation, "America/New_York")
        born(date(1990, 6, 15), "Bob")
        born(date(1990, 6, 14), "Bea")
        bravo_automation = birthday_automation(utc(2025, 6, 14, 12))
        tick_nation(now=now)
        assert enrolled(bravo_automation) == {"Bea": [2025]}
    connection.set_tenant(in_alpha.nation)
    tick_nation(now=now)
    assert enrolled(alpha_automation) == {"Ada": [2025]}  # not bravo's Bob, born the same day
    with schema_context(bravo.nation.schema_name):
        connection.set_tenant(bravo.nation)
        assert enrolled(bravo_automation) == {"Bea": [2025]}
        assert Enrolment.objects.count() == 1
    connection.set_tenant(in_alpha.nation)


def test_the_birthday_read_uses_the_birthday_index(in_alpha):
    birthday_automation(utc(2025, 2, 25, 12))
    born(date(2000, 2, 29), "Leap")
    with CaptureQueriesContext(connection) as queries:
        tick_nation(now=utc(2025, 2, 28, 10))  # reads 25 to 28 February, and 29
    [sql] = [q["sql"] for q in queries if "birthdate" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Read through the index with the days as its condition, not as a scan of every birth date.
    assert "person_birthday" in plan, plan
    assert "Index Cond: ((EXTRACT(month FROM birthdate)" in plan, plan
