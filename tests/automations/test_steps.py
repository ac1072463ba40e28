"""The other steps (list, notify, SMS), a tick that crashes before it commits, merges, and the
beat task over every nation."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from nations.automations.models import Enrolment, StepRun
from nations.comms.models import Delivery
from nations.people.actions import person_create, person_merge, person_tag
from nations.people.models import PeopleList, Person

from .conftest import make_automation, pump, sender
from .test_engine import EMAIL, consenting


def test_list_step_and_staff_notification(in_alpha, clock, sink, settings):
    from tenants.models import Membership

    settings.DEFAULT_FROM_EMAIL = "Nations <no-reply@localhost>"
    callers = PeopleList.objects.create(name="Callers")
    staff = Membership.objects.get(nation=in_alpha.nation, user=in_alpha.staff)
    make_automation(
        trigger="tag", trigger_tag="volunteer",
        steps=[
            ("list", {"list": callers.pk}),
            ("notify", {"user": staff.user_id, "message": "Call them this week."}),
        ],
    )  # fmt: skip
    ada = person_create(first_name="Ada", last_name="Byron", email="ada@example.org")
    person_tag(person=ada, names=["volunteer"])
    clock.tick(minutes=1)
    pump()
    assert callers.memberships.filter(person=ada).exists()
    [note] = sink.to(in_alpha.staff.email)
    assert "Ada Byron" in note["Subject"]
    body = note.get_body(("plain",)).get_content()
    assert "Call them this week." in body and f"/panel/people/{ada.pk}/" in body
    assert sink.to("ada@example.org") == []  # the person is not the one notified


def test_notify_refuses_someone_outside_the_nation(in_alpha, bravo, clock, sink):
    make_automation(
        trigger="tag", trigger_tag="volunteer",
        steps=[("notify", {"user": bravo.owner.pk})],
    )  # fmt: skip
    ada = person_create(first_name="Ada", email="ada@example.org")
    person_tag(person=ada, names=["volunteer"])
    clock.tick(minutes=1)
    pump()
    assert sink.to(bravo.owner.email) == []
    run = StepRun.objects.get(kind="notify")
    assert run.outcome == "failed" and "no longer in this nation" in run.detail


def test_sms_step_goes_through_transactional_sms(in_alpha, clock):
    comms_actions = pytest.importorskip("nations.comms.actions")
    if not hasattr(comms_actions, "transactional_sms"):
        pytest.skip("transactional_sms arrives with the SMS work (nations/comms)")
    make_automation(
        trigger="tag",
        trigger_tag="sms",
        steps=[("sms", {"body": "Merci {{ person.first_name }} !"})],
    )
    ada = person_create(first_name="Ada", email="ada@example.org", phone="+33612345678")
    Person.objects.filter(pk=ada.pk).update(sms_consent="granted")
    bob = person_create(first_name="Bob", email="bob@example.org", phone="+33612345679")
    person_tag(person=ada, names=["sms"])
    person_tag(person=bob, names=["sms"])  # no SMS consent
    clock.tick(minutes=1)
    clock.tick()
    runs = {r.enrolment.person_id: r for r in StepRun.objects.filter(kind="sms")}
    assert runs[bob.pk].outcome == "skipped"
    assert runs[ada.pk].outcome == "done"
    assert Delivery.objects.filter(channel="sms", person_id=ada.pk).count() == 1


def test_a_tick_that_dies_before_commit_leaves_nothing_and_the_next_sends_once(
    in_alpha, clock, sink
):
    sender()
    make_automation(trigger="tag", trigger_tag="vip", steps=[("email", EMAIL)])
    ada = consenting()
    person_tag(person=ada, names=["vip"])

    class WorkerKilled(Exception):
        pass

    with pytest.raises(WorkerKilled), transaction.atomic():
        assert clock.tick(minutes=1).steps == 1
        assert Delivery.objects.filter(kind="automation").count() == 1
        raise WorkerKilled  # the worker dies before its transaction commits
    assert Delivery.objects.filter(kind="automation").count() == 0
    assert not Enrolment.objects.exists()
    clock.tick()
    clock.tick()
    pump()
    assert len(sink.to("ada@example.org")) == 1


def test_merging_two_people_in_the_same_automation_keeps_one_walk(in_alpha, clock):
    make_automation(
        trigger="tag", trigger_tag="lead", steps=[("wait", {"days": 1}), ("tag", {"tag": "done"})]
    )
    one = person_create(first_name="Ada", email="ada@example.org")
    two = person_create(first_name="Ada", email="ada@work.example")
    person_tag(person=one, names=["lead"])
    person_tag(person=two, names=["lead"])
    clock.tick(minutes=1)
    survivor = person_merge(survivor=one, other=two)
    assert Enrolment.objects.filter(person=survivor, state="active").count() == 1
    clock.tick(days=1, minutes=1)
    assert survivor.taggings.filter(tag__name="done").exists()


def test_beat_task_runs_each_nation_with_the_feature(
    in_alpha, bravo, clock, django_capture_on_commit_callbacks
):
    from nations.automations.tasks import tick

    make_automation(trigger="tag", trigger_tag="go", steps=[("tag", {"tag": "went"})])
    ada = person_create(first_name="Ada", email="ada@example.org")
    person_tag(person=ada, names=["go"])
    connection.set_schema_to_public()
    tick(now=clock.now)
    connection.set_tenant(in_alpha.nation)
    assert ada.taggings.filter(tag__name="went").exists()
