"""The engine, time advanced by `now`: triggers, waits, steps, branches, enrolment rules,
loops, and a tick run twice."""

from __future__ import annotations

from django.test import Client

from nations.automations.models import Enrolment, Step, StepRun
from nations.comms.models import Delivery
from nations.comms.tokens import make_token
from nations.people.actions import (
    list_add,
    people_list_bulk,
    people_tag_bulk,
    person_create,
    person_tag,
)
from nations.people.models import PeopleList, Person, Tagging

from .conftest import make_automation, pump, sender

EMAIL = {
    "subject": "Bienvenue {{ person.first_name }}",
    "body": "<p>Merci {{ person.first_name }} !</p>",
}


def consenting(email="ada@example.org", first_name="Ada") -> Person:
    person = person_create(first_name=first_name, email=email)
    Person.objects.filter(pk=person.pk).update(email_consent="granted")
    person.refresh_from_db()
    return person


def tags_of(person) -> set[str]:
    return set(Tagging.objects.filter(person=person).values_list("tag__name", flat=True))


def test_tag_trigger_waits_then_emails_exactly_once(in_alpha, clock, sink):
    sender()
    make_automation(
        trigger="tag",
        trigger_tag="new-member",
        steps=[("wait", {"days": 2}), ("email", EMAIL), ("tag", {"tag": "welcomed"})],
    )
    ada = consenting()
    person_tag(person=ada, names=["new-member"])
    assert clock.tick(minutes=1).enrolled == 1
    enrolment = Enrolment.objects.get(person=ada)
    assert enrolment.state == "active"
    clock.tick(days=1)
    pump()
    assert sink.to("ada@example.org") == []  # still waiting
    clock.tick(days=1, minutes=1)
    clock.tick(days=0)  # the same minute again: nothing twice
    pump()
    [message] = sink.to("ada@example.org")
    assert message["Subject"] == "Bienvenue Ada"
    assert "Merci Ada" in message.get_body(("html",)).get_content()
    assert "welcomed" in tags_of(ada)
    enrolment.refresh_from_db()
    assert enrolment.state == "completed"
    assert list(StepRun.objects.filter(enrolment=enrolment).values_list("kind", flat=True)) == [
        "wait", "email", "tag",
    ]  # fmt: skip


def test_repeated_tick_for_the_same_now_sends_one_email(in_alpha, clock, sink):
    sender()
    make_automation(trigger="tag", trigger_tag="vip", steps=[("email", EMAIL)])
    ada = consenting()
    person_tag(person=ada, names=["vip"])
    clock.tick(minutes=1)
    clock.tick()
    clock.tick()
    pump()
    assert len(sink.to("ada@example.org")) == 1
    assert Delivery.objects.filter(kind="automation").count() == 1


def test_no_email_without_consent(in_alpha, clock, sink):
    sender()
    make_automation(trigger="tag", trigger_tag="vip", steps=[("email", EMAIL)])
    bob = person_create(first_name="Bob", email="bob@example.org")  # consent unknown
    person_tag(person=bob, names=["vip"])
    clock.tick(minutes=1)
    pump()
    assert sink.to("bob@example.org") == []
    assert StepRun.objects.get(kind="email").outcome == "skipped"


def test_bulk_tag_and_list_triggers(in_alpha, clock):
    volunteers = PeopleList.objects.create(name="Volunteers")
    make_automation(
        "Tagged", trigger="tag", trigger_tag="donor", steps=[("tag", {"tag": "t-done"})]
    )
    make_automation(
        "Listed", trigger="list", trigger_list=volunteers, steps=[("tag", {"tag": "l-done"})]
    )
    people = [person_create(first_name=f"P{i}", email=f"p{i}@example.org") for i in range(3)]
    people_tag_bulk(people=Person.objects.filter(pk__in=[p.pk for p in people]), tag_name="donor")
    people_list_bulk(people=Person.objects.filter(pk=people[0].pk), people_list=volunteers)
    list_add(people_list=volunteers, person=people[1])
    clock.tick(minutes=1)
    assert all("t-done" in tags_of(p) for p in people)
    assert "l-done" in tags_of(people[0]) and "l-done" in tags_of(people[1])
    assert "l-done" not in tags_of(people[2])


def test_only_what_happens_after_activation_triggers(in_alpha, clock):
    early = person_create(first_name="Early", email="early@example.org")
    person_tag(person=early, names=["donor"])
    make_automation(trigger="tag", trigger_tag="donor", steps=[("tag", {"tag": "done"})])
    clock.tick(minutes=1)
    assert Enrolment.objects.count() == 0


def test_page_signature_trigger(in_alpha, clock):
    from nations.site.actions import submission_record
    from nations.site.models import Page

    page = Page.objects.create(
        title="Save the river", slug="river", kind=Page.Kind.PETITION, status="published"
    )
    other = Page.objects.create(
        title="Other", slug="other", kind=Page.Kind.PETITION, status="published"
    )
    make_automation(trigger="page", trigger_page=page, steps=[("tag", {"tag": "river-signer"})])
    known = person_create(first_name="Known", email="known@example.org")
    submission_record(page=page, data={"email": "new@example.org", "first_name": "New"})
    submission_record(page=page, data={"email": "known@example.org"})
    submission_record(page=other, data={"email": "else@example.org"})
    clock.tick(minutes=1)
    tagged = set(
        Tagging.objects.filter(tag__name="river-signer").values_list("person__email", flat=True)
    )
    assert tagged == {"new@example.org", known.email}


def test_donation_trigger_with_minimum(in_alpha, clock):
    from nations.people.actions import activity_record

    make_automation(
        trigger="donation", trigger_min_amount=5000, steps=[("tag", {"tag": "big-donor"})]
    )
    small = person_create(first_name="Small", email="small@example.org")
    big = person_create(first_name="Big", email="big@example.org")
    # The timeline entry donations' _mark_paid writes (tests/donations cover how it is written).
    for person, amount in ((small, 1000), (big, 10000)):
        activity_record(
            person=person, kind="donated", summary="gift",
            data={"donation": 1, "amount": amount, "currency": "EUR", "recurring": False},
        )  # fmt: skip
    clock.tick(minutes=1)
    assert "big-donor" in tags_of(big) and "big-donor" not in tags_of(small)


def test_days_after_signup(in_alpha, clock):
    from datetime import timedelta

    make_automation(trigger="created", trigger_days=30, steps=[("tag", {"tag": "month-one"})])
    fresh = person_create(first_name="Fresh", email="fresh@example.org")
    Person.objects.filter(pk=fresh.pk).update(created_at=clock.now + timedelta(minutes=1))
    clock.tick(days=29)
    assert "month-one" not in tags_of(fresh)
    clock.tick(days=1, minutes=5)
    assert "month-one" in tags_of(fresh)
    clock.tick(days=1)
    assert Enrolment.objects.filter(person=fresh).count() == 1


def test_once_only_versus_again(in_alpha, clock):
    from nations.people.actions import person_untag

    once = make_automation("Once", trigger="tag", trigger_tag="go", steps=[("tag", {"tag": "x"})])
    again = make_automation(
        "Again", trigger="tag", trigger_tag="go", reentry="again", steps=[("tag", {"tag": "y"})]
    )
    ada = person_create(first_name="Ada", email="ada@example.org")
    for _ in range(2):
        person_tag(person=ada, names=["go"])
        clock.tick(minutes=1)
        person_untag(person=ada, names=["go"])
    assert Enrolment.objects.filter(automation=once, person=ada).count() == 1
    assert Enrolment.objects.filter(automation=again, person=ada).count() == 2


def test_exit_rule_stops_the_walk(in_alpha, clock):
    make_automation(
        trigger="tag", trigger_tag="lead", exit_tag="member",
        steps=[("wait", {"days": 3}), ("tag", {"tag": "nudged"})],
    )  # fmt: skip
    ada = person_create(first_name="Ada", email="ada@example.org")
    person_tag(person=ada, names=["lead"])
    clock.tick(minutes=1)
    person_tag(person=ada, names=["member"])
    clock.tick(minutes=1)
    clock.tick(days=4)
    enrolment = Enrolment.objects.get(person=ada)
    assert enrolment.state == "exited"
    assert "nudged" not in tags_of(ada)


def test_branch_on_opened_email(in_alpha, clock, sink):
    sender()
    automation = make_automation(
        trigger="tag", trigger_tag="lead",
        steps=[("email", EMAIL), ("wait", {"days": 1})], activate=False,
    )  # fmt: skip
    from nations.automations import actions

    email_step = Step.objects.get(automation=automation, kind="email")
    end = actions.step_add(automation=automation, kind="end", config={})
    branch = actions.step_add(
        automation=automation, kind="branch",
        config={"test": "opened", "step": email_step.pk, "no": None},
    )  # fmt: skip
    actions.step_move(step=branch, offset=-1)  # before the end step
    branch.refresh_from_db()
    actions.step_save(step=branch, config={**branch.config, "no": end.pk + 0})
    opened_tag = actions.step_add(automation=automation, kind="tag", config={"tag": "opened"})
    # Layout: 1 email, 2 wait, 3 branch (no → step "end"), 4 end, 5 tag "opened".
    # Yes goes on to step 4 (end) in this layout, so point "no" at the end and move the tag up.
    actions.step_move(step=opened_tag, offset=-1)
    actions.automation_activate(automation=automation)
    reader = consenting("reader@example.org", "Reader")
    skipper = consenting("skipper@example.org", "Skipper")
    person_tag(person=reader, names=["lead"])
    person_tag(person=skipper, names=["lead"])
    clock.tick(minutes=1)
    pump()
    # The reader's mail client loads the open pixel (the real URL of the message).
    delivery = Delivery.objects.get(person_id=reader.pk, kind="automation")
    html = sink.to("reader@example.org")[0].get_body(("html",)).get_content()
    token = make_token(in_alpha.nation.schema_name, delivery.pk)
    assert f"/e/o/{token}.gif" in html
    assert Client(HTTP_HOST=in_alpha.host).get(f"/e/o/{token}.gif").status_code == 200
    from django.db import connection

    connection.set_tenant(in_alpha.nation)
    clock.tick(days=1, minutes=1)
    assert "opened" in tags_of(reader)
    assert "opened" not in tags_of(skipper)


def test_branch_on_tag(in_alpha, clock):
    from nations.automations import actions

    automation = make_automation(trigger="tag", trigger_tag="lead", steps=[], activate=False)
    branch = actions.step_add(
        automation=automation, kind="branch", config={"test": "has_tag", "tag": "vip"}
    )
    actions.step_add(automation=automation, kind="tag", config={"tag": "vip-path"})
    actions.step_add(automation=automation, kind="end", config={})
    other = actions.step_add(automation=automation, kind="tag", config={"tag": "plain-path"})
    actions.step_save(step=branch, config={**branch.config, "no": other.pk})
    actions.automation_activate(automation=automation)
    vip = person_create(first_name="Vip", email="vip@example.org")
    person_tag(person=vip, names=["vip"])
    plain = person_create(first_name="Plain", email="plain@example.org")
    person_tag(person=vip, names=["lead"])
    person_tag(person=plain, names=["lead"])
    clock.tick(minutes=1)
    assert "vip-path" in tags_of(vip) and "plain-path" not in tags_of(vip)
    assert "plain-path" in tags_of(plain) and "vip-path" not in tags_of(plain)


def test_loop_between_two_automations_is_refused_at_activation(in_alpha):
    import pytest

    from nations.automations.actions import AutomationError

    make_automation("A", trigger="tag", trigger_tag="a", steps=[("tag", {"tag": "b"})])
    with pytest.raises(AutomationError) as raised:
        make_automation("B", trigger="tag", trigger_tag="b", steps=[("tag", {"tag": "a"})])
    assert "A → B → A" in str(raised.value) or "B → A → B" in str(raised.value)


def test_loop_is_stopped_at_run_time_with_a_message(in_alpha, clock):
    """A loop the static check could not see (a step changed behind it, as an old row or a
    concurrent edit could): the engine stops it on the causal chain and says so."""
    a = make_automation(
        "A", trigger="tag", trigger_tag="a", reentry="again",
        steps=[("untag", {"tag": "a"}), ("tag", {"tag": "b"})],
    )  # fmt: skip
    b = make_automation(
        "B", trigger="tag", trigger_tag="b", reentry="again",
        steps=[("untag", {"tag": "b"}), ("tag", {"tag": "c"})],
    )  # fmt: skip
    Step.objects.filter(automation=b, kind="tag").update(config={"tag": "a"})
    ada = person_create(first_name="Ada", email="ada@example.org")
    person_tag(person=ada, names=["a"])
    for _ in range(5):
        clock.tick(minutes=1)
    assert Enrolment.objects.filter(person=ada, automation=a).count() == 1
    assert Enrolment.objects.filter(person=ada, automation=b).count() == 1
    a.refresh_from_db()
    assert "Loop stopped: A → B → A" in a.problem
    assert tags_of(ada) == {"a"}  # where the loop was cut


def test_goto_without_wait_is_refused(in_alpha):
    import pytest

    from nations.automations import actions
    from nations.automations.actions import AutomationError

    automation = make_automation(
        trigger="tag", trigger_tag="x", steps=[("tag", {"tag": "y"})], activate=False
    )
    first = Step.objects.get(automation=automation)
    actions.step_add(automation=automation, kind="goto", config={"target": first.pk})
    with pytest.raises(AutomationError, match="loop forever"):
        actions.automation_activate(automation=automation)


def test_paused_automation_holds_people_where_they_are(in_alpha, clock):
    from nations.automations import actions

    automation = make_automation(
        trigger="tag", trigger_tag="x", steps=[("wait", {"hours": 1}), ("tag", {"tag": "y"})]
    )
    ada = person_create(first_name="Ada", email="ada@example.org")
    person_tag(person=ada, names=["x"])
    clock.tick(minutes=1)
    actions.automation_pause(automation=automation)
    clock.tick(hours=2)
    assert "y" not in tags_of(ada)
    actions.automation_activate(automation=automation)
    clock.tick(minutes=1)
    assert "y" in tags_of(ada)


def test_a_tick_costs_the_same_few_queries_however_many_people_wait(in_alpha, clock):
    """Never a scan of everyone: with nothing due, the tick's queries do not grow with the
    number of people enrolled (they read due rows through an index, and new timeline rows)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_automation(trigger="tag", trigger_tag="go", steps=[("wait", {"days": 7}), ("end", {})])
    counts = []
    for n in (5, 60):
        people = Person.objects.bulk_create(
            Person(first_name=f"W{n}-{i}", email=f"w{n}-{i}@example.org") for i in range(n)
        )
        people_tag_bulk(people=Person.objects.filter(pk__in=[p.pk for p in people]), tag_name="go")
        clock.tick(minutes=1)  # they enter and start waiting
        with CaptureQueriesContext(connection) as queries:
            clock.tick(minutes=10)  # past the re-read window: nothing new, nothing due
        counts.append(len(queries))
    assert Enrolment.objects.filter(state="active").count() == 65
    assert counts[0] == counts[1] and counts[0] <= 12, counts
