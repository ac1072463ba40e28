"""The form intake: under a burst, a signature is accepted at once (one row, a share code) and
recorded by the intake worker right after, exactly as the request would have recorded it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context, tenant_context

from nations.people.actions import person_erase, person_upsert, recruiter_code_for
from nations.people.models import Activity, ConsentChange, Person
from nations.site import intake
from nations.site.actions import page_count, page_unpublish
from nations.site.models import Intake, Submission
from tests.conftest import client_for

from .conftest import form_data, make_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def burst(settings):
    """Every web request is busy: petitions, signups and surveys go through the intake."""
    settings.SITE_INLINE_SUBMISSIONS = 0


@pytest.fixture
def petition(alpha):
    return make_page(
        alpha.nation,
        kind="petition",
        title="Save the river",
        slug="save-the-river",
        goal=100,
        tags=["petition:river"],
        consent_wording="Send me news about the river campaign.",
        autoresponse_subject="Thanks {{ first_name }}!",
        autoresponse_body="Dear {{ first_name }}, share: {{ share_url }}",
        show_signers=True,
    )


def _share(response) -> str:
    return parse_qs(urlsplit(response["Location"]).query)["share"][0]


def _work(nation) -> dict:
    with tenant_context(nation):  # as the Celery task runs: the nation set on the connection
        return intake.work()


def test_a_busy_site_accepts_at_once_and_the_worker_records_it_all(
    alpha, petition, burst, sent, django_capture_on_commit_callbacks
):
    client = client_for(alpha.host)
    data = form_data(
        alpha.nation, petition, city="Lyon", consent="on", public="on", nonce="burst-1"
    )
    response = client.post("/save-the-river/", data)  # nothing after commit yet: no worker ran
    assert response.status_code == 303
    code = _share(response)
    thanks = client.get(response["Location"]).content.decode()
    assert f"?recruiter={code}" in thanks  # the share link is ready before the person is
    with schema_context(alpha.nation.schema_name):
        assert not Person.objects.filter(email="zoe@example.org").exists()
        assert Intake.objects.get().processed_at is None
        assert page_count(petition) == 1  # the counter already shows it
    cache.delete(f"site:count:{petition.pk}")

    with django_capture_on_commit_callbacks(execute=True):  # the autoresponse, after commit
        assert _work(alpha.nation) == {"recorded": 1, "failed": 0, "more": 0}
    with schema_context(alpha.nation.schema_name):
        person = Person.objects.get(email="zoe@example.org")
        assert person.recruiter_code == code
        assert (person.first_name, person.city, person.email_consent) == ("Zoé", "Lyon", "granted")
        assert list(person.taggings.values_list("tag__name", flat=True)) == ["petition:river"]
        assert ConsentChange.objects.get(person=person).wording == (
            "Send me news about the river campaign."
        )
        assert Activity.objects.filter(person=person, kind=Activity.Kind.SIGNED).count() == 1
        submission = Submission.objects.get(page=petition, person=person)
        assert (submission.public_name, submission.public_city) == ("Zoé", "Lyon")
        # The share code is the person's own now: the row has served its purpose.
        assert not Intake.objects.exists()
        assert page_count(petition) == 1
    [message] = sent.to("zoe@example.org")  # the autoresponse, sent by the worker
    assert f"?recruiter={code}" in message.get_content()


def test_the_worker_is_queued_after_commit_and_runs_in_the_nation(
    alpha, petition, burst, sent, submit
):
    response = submit(client_for(alpha.host), "/save-the-river/", form_data(alpha.nation, petition))
    assert response.status_code == 303
    with schema_context(alpha.nation.schema_name):  # the eager worker recorded it
        assert Person.objects.filter(email="zoe@example.org").exists()
        assert not Intake.objects.filter(processed_at__isnull=True).exists()
    assert len(sent.to("zoe@example.org")) == 1


def test_a_double_click_while_busy_is_one_signature(alpha, petition, burst):
    client = client_for(alpha.host)
    data = form_data(alpha.nation, petition, nonce="double")
    first, second = client.post("/save-the-river/", data), client.post("/save-the-river/", data)
    assert first["Location"] == second["Location"]
    with schema_context(alpha.nation.schema_name):
        assert Intake.objects.count() == 1
    _work(alpha.nation)
    with schema_context(alpha.nation.schema_name):
        assert Submission.objects.filter(page=petition).count() == 1
    # The same form load posted again after it was recorded is still one signature.
    assert client.post("/save-the-river/", data).status_code == 303
    _work(alpha.nation)
    with schema_context(alpha.nation.schema_name):
        assert Submission.objects.filter(page=petition).count() == 1


def test_signatures_wait_in_order_while_a_backlog_is_worked_off(alpha, petition):
    # SITE_INLINE_SUBMISSIONS is 1 here: a lone request would record itself, but the worker
    # says it is busy, so the newcomer joins the queue behind the others.
    with schema_context(alpha.nation.schema_name):
        cache.set(intake.BUSY_KEY, 1, 30)
    client = client_for(alpha.host)
    for n in range(3):
        data = form_data(alpha.nation, petition, email=f"s{n}@example.org", nonce=f"o-{n}")
        assert client.post("/save-the-river/", data).status_code == 303
    assert _work(alpha.nation)["recorded"] == 3
    with schema_context(alpha.nation.schema_name):
        signed = Submission.objects.filter(page=petition).order_by("id")
        assert [s.person.email for s in signed] == [f"s{n}@example.org" for n in range(3)]
        assert cache.get(intake.BUSY_KEY) is None  # backlog done: requests record themselves


def test_a_share_code_given_while_busy_recruits_even_when_the_person_had_one(
    alpha, petition, burst
):
    with schema_context(alpha.nation.schema_name):
        known, _ = person_upsert(data={"first_name": "Rémi"}, email="remi@example.org", source="t")
        own = recruiter_code_for(known)
    client = client_for(alpha.host)
    response = client.post(
        "/save-the-river/", form_data(alpha.nation, petition, email="remi@example.org")
    )
    alias = _share(response)
    assert alias != own
    _work(alpha.nation)
    for n, code in enumerate((own, alias)):
        data = form_data(alpha.nation, petition, email=f"friend{n}@example.org", recruiter=code)
        client.post("/save-the-river/", data)
    _work(alpha.nation)
    with schema_context(alpha.nation.schema_name):
        known.refresh_from_db()
        assert known.recruiter_code == own  # their code is kept; the new one is an alias
        alias_row = Intake.objects.get(share_code=alias)
        assert alias_row.person == known and alias_row.payload == {}  # data moved to them
        recruits = Person.objects.filter(recruiter=known).values_list("email", flat=True)
        assert sorted(recruits) == ["friend0@example.org", "friend1@example.org"]


def test_a_signature_accepted_before_the_page_closed_still_counts(
    alpha, petition, burst, committed
):
    client_for(alpha.host).post("/save-the-river/", form_data(alpha.nation, petition))
    with schema_context(alpha.nation.schema_name):
        committed(page_unpublish, page=petition)
    assert _work(alpha.nation)["recorded"] == 1
    with schema_context(alpha.nation.schema_name):
        assert Submission.objects.filter(page=petition).count() == 1


def test_a_row_that_cannot_be_recorded_keeps_its_data_and_does_not_block_the_others(
    alpha, petition, burst
):
    client = client_for(alpha.host)
    client.post("/save-the-river/", form_data(alpha.nation, petition, email="a@example.org"))
    client.post("/save-the-river/", form_data(alpha.nation, petition, email="b@example.org"))
    with schema_context(alpha.nation.schema_name):
        broken = Intake.objects.order_by("id").first()
        broken.payload["data"]["email"] = "not an address"  # as if stored by an older version
        broken.save()
    assert _work(alpha.nation) == {"recorded": 1, "failed": 1, "more": 0}
    with schema_context(alpha.nation.schema_name):
        broken.refresh_from_db()
        assert broken.error and broken.payload["data"]["first_name"] == "Zoé"
        assert Person.objects.filter(email="b@example.org").exists()


def test_events_never_wait_a_seat_is_given_now(alpha, burst):
    event = make_page(alpha.nation, kind="event", title="Meeting", slug="meeting", capacity=10)
    response = client_for(alpha.host).post("/meeting/", form_data(alpha.nation, event))
    assert response.status_code == 303
    with schema_context(alpha.nation.schema_name):
        assert Submission.objects.get(page=event).status == Submission.Status.GOING
        assert not Intake.objects.exists()


def test_erasing_a_person_removes_their_share_codes_and_answers(alpha, petition, burst):
    response = client_for(alpha.host).post(
        "/save-the-river/", form_data(alpha.nation, petition, city="Lyon", public="on")
    )
    code = _share(response)
    _work(alpha.nation)
    with schema_context(alpha.nation.schema_name):
        person = Person.objects.get(email="zoe@example.org")
        person_erase(person=person)
        assert not Intake.objects.filter(share_code=code).exists()
        submission = Submission.objects.get(page=petition)
        assert (submission.public_name, submission.public_city) == ("", "")
        assert intake.recruiter_for(code) is None


def test_a_nation_works_off_only_its_own_intake(alpha, bravo, petition, burst):
    other = make_page(bravo.nation, kind="petition", title="Other", slug="other")
    a = client_for(alpha.host).post("/save-the-river/", form_data(alpha.nation, petition))
    client_for(bravo.host).post("/other/", form_data(bravo.nation, other))
    assert _work(alpha.nation)["recorded"] == 1
    with schema_context(bravo.nation.schema_name):
        assert Intake.objects.filter(processed_at__isnull=True).count() == 1
        assert not Person.objects.filter(email="zoe@example.org").exists()
        assert intake.recruiter_for(_share(a)) is None  # alpha's share code means nothing here
    assert _work(bravo.nation)["recorded"] == 1


def test_staff_see_what_waits_and_what_failed_and_can_record_it_again(
    alpha, petition, burst, committed
):
    client = client_for(alpha.host)
    client.post("/save-the-river/", form_data(alpha.nation, petition, email="a@example.org"))
    staff = client_for(alpha.host, alpha.owner, alpha.nation)
    page = staff.get(f"/panel/website/pages/{petition.pk}/responses/").content.decode()
    assert "1 response just received is being recorded" in page
    with schema_context(alpha.nation.schema_name):
        row = Intake.objects.get()
        row.payload["data"]["email"] = "not an address"
        row.save()
    _work(alpha.nation)
    page = staff.get(f"/panel/website/pages/{petition.pk}/responses/").content.decode()
    assert "Responses that could not be recorded" in page and "not an address" in page
    with schema_context(alpha.nation.schema_name):  # staff fix the cause...
        row.refresh_from_db()
        row.payload["data"]["email"] = "a@example.org"
        row.save()
    response = committed(staff.post, f"/panel/website/pages/{petition.pk}/responses/retry/")
    assert response.status_code == 302
    _work(alpha.nation)
    with schema_context(alpha.nation.schema_name):
        assert Person.objects.filter(email="a@example.org").exists()
    page = staff.get(f"/panel/website/pages/{petition.pk}/responses/").content.decode()
    assert "could not be recorded" not in page


def test_another_nation_cannot_retry_or_see_these_responses(alpha, bravo, petition, burst):
    client_for(alpha.host).post("/save-the-river/", form_data(alpha.nation, petition))
    intruder = client_for(bravo.host, bravo.owner, bravo.nation)
    assert intruder.get(f"/panel/website/pages/{petition.pk}/responses/").status_code == 404
    assert intruder.post(f"/panel/website/pages/{petition.pk}/responses/retry/").status_code == 404
