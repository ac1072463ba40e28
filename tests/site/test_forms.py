"""Events, signups, volunteers, surveys; spam guards; closed, full and unpublished pages."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from nations.people.models import Activity, Person
from nations.site.models import Page, Redirect, Submission
from tests.conftest import client_for

from .conftest import form_data, make_page, question_fields

pytestmark = pytest.mark.django_db


def event(alpha, **fields):
    fields.setdefault("starts_at", timezone.now() + timedelta(days=3))
    return make_page(
        alpha.nation,
        kind="event",
        title="Town hall",
        event_timezone="Europe/Paris",
        venue="Salle des fêtes",
        address="1 place de la Mairie, Lyon",
        tags=["event:townhall"],
        **fields,
    )


def test_rsvp_with_guests_books_seats_then_the_waitlist(alpha, sent, submit):
    page = event(alpha, capacity=3)
    client = client_for(alpha.host)
    body = client.get("/town-hall/").content.decode()
    assert "Salle des fêtes" in body and "Europe/Paris" in body and "calendar.ics" in body
    response = submit(client, "/town-hall/", form_data(alpha.nation, page, guests="2"))
    assert response.status_code == 303 and "status=" not in response["Location"]
    response = submit(
        client, "/town-hall/", form_data(alpha.nation, page, email="late@example.org")
    )
    assert "status=waitlist" in response["Location"]
    assert "waiting list" in client.get(response["Location"]).content.decode()
    with schema_context(alpha.nation.schema_name):
        rows = dict(Submission.objects.filter(page=page).values_list("person__email", "status"))
        assert rows == {"zoe@example.org": "going", "late@example.org": "waitlist"}
        zoe = Person.objects.get(email="zoe@example.org")
        assert Activity.objects.filter(person=zoe, kind=Activity.Kind.RSVP).exists()
        assert zoe.taggings.filter(tag__name="event:townhall").exists()
    [confirmation] = sent.to("zoe@example.org")
    assert "Town hall" in confirmation["Subject"]
    assert "calendar.ics" in confirmation.get_content()
    assert "waiting list" in sent.to("late@example.org")[0].get_content()


def test_the_ics_file_describes_the_event(alpha):
    event(alpha)
    response = client_for(alpha.host).get("/town-hall/calendar.ics")
    assert response["Content-Type"].startswith("text/calendar")
    text = response.content.decode()
    assert "BEGIN:VEVENT" in text and "SUMMARY:Town hall" in text and "Salle des f" in text


def test_a_cancelled_or_past_event_takes_no_rsvp(alpha):
    cancelled = event(alpha, cancelled=True)
    client = client_for(alpha.host)
    assert "This event is cancelled." in client.get("/town-hall/").content.decode()
    response = client.post("/town-hall/", form_data(alpha.nation, cancelled))
    assert response.status_code == 409
    past = make_page(
        alpha.nation,
        kind="event",
        title="Old meeting",
        starts_at=timezone.now() - timedelta(days=2),
    )
    response = client.post("/old-meeting/", form_data(alpha.nation, past))
    assert response.status_code == 409 and "This event is over." in response.content.decode()
    with schema_context(alpha.nation.schema_name):
        assert not Submission.objects.exists()
        assert not Person.objects.filter(email="zoe@example.org").exists()


def test_upcoming_events_are_listed(alpha):
    event(alpha)
    body = client_for(alpha.host).get("/events/").content.decode()
    assert "Town hall" in body


def test_signup_and_volunteer_pages(alpha, sent, submit):
    signup = make_page(alpha.nation, kind="signup", title="Join", tags=["member"])
    volunteer = make_page(
        alpha.nation,
        kind="volunteer",
        title="Volunteer",
        skills="Door knocking\nPhone banking",
        availability=["Weekends", "Evenings"],
        ask_phone=True,
    )
    client = client_for(alpha.host)
    assert (
        submit(client, "/join/", form_data(alpha.nation, signup, consent="on")).status_code == 303
    )
    response = submit(
        client,
        "/volunteer/",
        form_data(
            alpha.nation,
            volunteer,
            skills=["Phone banking"],
            availability=["Evenings"],
            phone="+33 6 11 22 33 44",
        ),
    )
    assert response.status_code == 303
    with schema_context(alpha.nation.schema_name):
        person = Person.objects.get(email="zoe@example.org")
        assert person.phone == "+33611223344"
        assert person.taggings.filter(tag__name="member").exists()
        answers = Submission.objects.get(page=volunteer).answers
        assert answers == {
            "How can you help?": ["Phone banking"],
            "When are you available?": ["Evenings"],
        }
    assert len(sent.to("zoe@example.org")) == 2


def test_survey_answers_are_stored_per_person_and_required_questions_enforced(alpha, submit, sent):
    page = make_page(
        alpha.nation,
        kind="survey",
        title="Priorities",
        questions=[
            {"kind": "short", "label": "Your street"},
            {"kind": "long", "label": "What matters?", "required": True},
            {"kind": "single", "label": "Transport", "choices": ["Bike", "Bus"], "required": True},
            {"kind": "multiple", "label": "Topics", "choices": ["Parks", "Schools", "Housing"]},
        ],
    )
    q = question_fields(alpha.nation, page)
    client = client_for(alpha.host)
    bad = client.post("/priorities/", form_data(alpha.nation, page, **{q["Transport"]: "Plane"}))
    assert bad.status_code == 400
    answers = {
        q["What matters?"]: "Clean air",
        q["Transport"]: "Bike",
        q["Topics"]: ["Parks", "Housing"],
    }
    response = submit(client, "/priorities/", form_data(alpha.nation, page, **answers))
    assert response.status_code == 303
    with schema_context(alpha.nation.schema_name):
        answers = Submission.objects.get(page=page).answers
    assert answers == {
        "What matters?": "Clean air",
        "Transport": "Bike",
        "Topics": ["Parks", "Housing"],
    }


def test_the_honeypot_looks_like_success_and_stores_nothing(alpha):
    page = make_page(alpha.nation, kind="petition", title="Bots")
    response = client_for(alpha.host).post(
        "/bots/", form_data(alpha.nation, page, website="http://spam.example")
    )
    assert response.status_code == 303
    with schema_context(alpha.nation.schema_name):
        assert not Submission.objects.exists()
        assert not Person.objects.filter(email="zoe@example.org").exists()


def test_rate_limit_per_ip(alpha, settings):
    settings.SITE_FORM_IP_RATE = "3/m"
    page = make_page(alpha.nation, kind="petition", title="Busy")
    client = client_for(alpha.host)
    codes = [
        client.post("/busy/", form_data(alpha.nation, page, email=f"p{i}@example.org")).status_code
        for i in range(5)
    ]
    assert codes[:3] == [303, 303, 303] and codes[3:] == [429, 429]
    with schema_context(alpha.nation.schema_name):
        assert Submission.objects.filter(page=page).count() == 3


def test_rate_limit_per_page(alpha, settings):
    settings.SITE_FORM_PAGE_RATE = "2/m"
    page = make_page(alpha.nation, kind="petition", title="Flood")
    codes = [
        client_for(alpha.host)
        .post(
            "/flood/",
            form_data(alpha.nation, page, email=f"p{i}@example.org"),
            REMOTE_ADDR=f"10.0.0.{i}",
        )
        .status_code
        for i in range(4)
    ]
    assert codes == [303, 303, 429, 429]


def test_unpublished_scheduled_and_deleted_pages(alpha):
    page = make_page(alpha.nation, kind="basic", title="Hidden", publish=False)
    client = client_for(alpha.host)
    assert client.get("/hidden/").status_code == 404
    later = make_page(alpha.nation, kind="basic", title="Later", publish=False)
    with schema_context(alpha.nation.schema_name):
        from nations.site.actions import page_publish

        page_publish(page=later, at=timezone.now() + timedelta(hours=2))
        Redirect.objects.create(old_path="/old-address/", new_path="/hidden/")
    assert client.get("/later/").status_code == 404
    response = client.get("/old-address/")
    assert response.status_code == 301 and response["Location"] == "/hidden/"
    assert client.get("/never-existed/").status_code == 404
    with schema_context(alpha.nation.schema_name):
        assert Page.objects.filter(pk=page.pk).exists()


def test_the_same_form_load_posted_at_once_twice_makes_one_signature(world):
    """Two requests with the same idempotency key at the same instant, on committed data (the
    test transaction is invisible to other connections, so this test commits and cleans up)."""
    from nations.site.actions import submission_record

    nation = world.alpha.nation
    _commit_page(nation)
    errors, results = [], []
    barrier = threading.Barrier(2)

    def sign():
        try:
            with tenant_context(nation):
                page = Page.objects.get(slug="race-committed")
                barrier.wait()
                results.append(
                    submission_record(
                        page=page,
                        data={"first_name": "Ann", "email": "ann.race@example.org"},
                        token="same-token",
                    )
                )
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert len(results) == 2 and sum(r.duplicate for r in results) == 1
        assert _count(nation) == (1, 1)
    finally:
        _cleanup(nation)


def _on_own_connection(func):
    box = []

    def run():
        try:
            box.append(func())
        finally:
            connections.close_all()

    t = threading.Thread(target=run)
    t.start()
    t.join(30)
    return box[0] if box else None


def _commit_page(nation):
    def go():
        with schema_context(nation.schema_name):
            Page.objects.get_or_create(
                slug="race-committed",
                defaults={"kind": "petition", "title": "Race", "status": "published"},
            )

    _on_own_connection(go)


def _count(nation):
    def go():
        with schema_context(nation.schema_name):
            return (
                Submission.objects.filter(person__email="ann.race@example.org").count(),
                Person.objects.filter(email="ann.race@example.org").count(),
            )

    return _on_own_connection(go)


def _cleanup(nation):
    def go():
        with schema_context(nation.schema_name):
            Person.objects.filter(email="ann.race@example.org").delete()
            Page.objects.filter(slug="race-committed").delete()
            from nations.site.models import SubmissionToken

            SubmissionToken.objects.filter(token="same-token").delete()

    _on_own_connection(go)
