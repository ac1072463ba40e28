"""A petition, end to end: the page, the signature, the person it makes or updates."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context

from nations.people.actions import person_upsert, recruiter_code_for
from nations.people.models import Activity, ConsentChange, Person
from nations.site.models import Submission
from tests.conftest import client_for

from .conftest import form_data, make_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def petition(alpha):
    return make_page(
        alpha.nation,
        kind="petition",
        title="Save the river",
        slug="save-the-river",
        intro="The river needs us.",
        body="<p>Sign <b>now</b>.</p><script>alert(1)</script>",
        target="The Mayor",
        goal=100,
        tags=["petition:river", "environment"],
        consent_wording="Send me news about the river campaign.",
        autoresponse_subject="Thanks {{ first_name }}!",
        autoresponse_body="Dear {{ first_name }}, you signed {{ page_title }}. Share: {{ share_url }}",
        show_signers=True,
    )


def test_the_petition_page_shows_its_text_goal_and_form(alpha, petition):
    response = client_for(alpha.host).get("/save-the-river/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Save the river" in body and "The Mayor" in body
    assert "<b>now</b>" in body and "<script>alert" not in body
    assert 'role="progressbar"' in body and 'name="email"' in body
    assert "Send me news about the river campaign." in body


def test_signing_creates_a_tagged_person_with_consent_timeline_and_email(
    alpha, petition, sent, submit
):
    client = client_for(alpha.host)
    response = submit(
        client,
        "/save-the-river/",
        form_data(alpha.nation, petition, city="Lyon", consent="on", public="on", nonce="n-1"),
    )
    assert response.status_code == 303
    assert response["Location"].startswith("/save-the-river/thanks/?share=")
    with schema_context(alpha.nation.schema_name):
        person = Person.objects.get(email="zoe@example.org")
        assert (person.first_name, person.last_name, person.city) == ("Zoé", "Martin", "Lyon")
        assert set(person.taggings.values_list("tag__name", flat=True)) == {
            "petition:river",
            "environment",
        }
        assert person.email_consent == "granted"
        change = ConsentChange.objects.get(person=person)
        assert change.wording == "Send me news about the river campaign."
        assert change.source == "page:save-the-river"
        signed = Activity.objects.get(person=person, kind=Activity.Kind.SIGNED)
        assert "Save the river" in signed.summary
        submission = Submission.objects.get(page=petition, person=person)
        assert (submission.public_name, submission.public_city) == ("Zoé", "Lyon")
    [message] = sent.to("zoe@example.org")
    assert message["Subject"] == "Thanks Zoé!"
    assert "you signed Save the river" in message.get_content()
    assert "?recruiter=" in message.get_content()
    assert alpha.nation.name in message["From"]
    cache.clear()
    page = client.get("/save-the-river/").content.decode()
    assert "<strong>Zoé</strong>, Lyon" in page  # public signers list (first name + city)
    thanks = client.get(response["Location"]).content.decode()
    assert "?recruiter=" in thanks


def test_an_existing_person_is_matched_and_better_data_is_kept(alpha, petition, sent, submit):
    with schema_context(alpha.nation.schema_name):
        known, _ = person_upsert(
            data={"first_name": "Zoé", "last_name": "Martin-Durand", "city": "Paris"},
            email="zoe@example.org",
            source="test",
        )
    submit(
        client_for(alpha.host),
        "/save-the-river/",
        form_data(alpha.nation, petition, email="ZOE@example.org", city="Lyon"),
    )
    with schema_context(alpha.nation.schema_name):
        assert Person.objects.filter(email="zoe@example.org").count() == 1
        known.refresh_from_db()
        assert (known.last_name, known.city) == ("Martin-Durand", "Paris")  # not overwritten
        assert known.email_consent == "unknown"  # box not ticked: nothing recorded
        assert Activity.objects.filter(person=known, kind=Activity.Kind.SIGNED).count() == 1
        assert Submission.objects.filter(page=petition).count() == 1


def test_matching_falls_back_to_the_phone(alpha, sent, submit):
    page = make_page(alpha.nation, kind="petition", title="Phones", ask_phone=True)
    with schema_context(alpha.nation.schema_name):
        known, _ = person_upsert(data={"first_name": "Ali"}, phone="+33612345699", source="test")
    submit(
        client_for(alpha.host),
        "/phones/",
        form_data(alpha.nation, page, email="ali@example.org", phone="06 12 34 56 99"),
    )
    with schema_context(alpha.nation.schema_name):
        known.refresh_from_db()
        assert known.email == "ali@example.org"
        assert Person.objects.count() == 1 + len(alpha.markers)


def test_the_recruiter_is_credited(alpha, petition, sent, submit):
    with schema_context(alpha.nation.schema_name):
        recruiter, _ = person_upsert(
            data={"first_name": "Rémi"}, email="remi@example.org", source="t"
        )
        code = recruiter_code_for(recruiter)
    page = client_for(alpha.host).get(f"/save-the-river/?recruiter={code}").content.decode()
    assert f'value="{code}"' in page
    submit(
        client_for(alpha.host),
        "/save-the-river/",
        form_data(alpha.nation, petition, recruiter=code),
    )
    with schema_context(alpha.nation.schema_name):
        signer = Person.objects.get(email="zoe@example.org")
        assert signer.recruiter_id == recruiter.pk
        recruiter.refresh_from_db()
        assert recruiter.points == 1
        assert signer.points == 1  # signing is an action taken: one point


def test_signing_twice_is_one_signature_and_one_email(alpha, petition, sent, submit):
    client = client_for(alpha.host)
    data = form_data(alpha.nation, petition, nonce="same-load")
    assert submit(client, "/save-the-river/", data).status_code == 303
    assert submit(client, "/save-the-river/", data).status_code == 303
    assert submit(client, "/save-the-river/", {**data, "nonce": "another-load"}).status_code == 303
    with schema_context(alpha.nation.schema_name):
        assert Submission.objects.filter(page=petition).count() == 1
        assert Activity.objects.filter(kind=Activity.Kind.SIGNED).count() == 1
    assert len(sent.to("zoe@example.org")) == 1


def test_missing_or_malformed_fields_show_errors_and_keep_what_was_typed(alpha, petition):
    client = client_for(alpha.host)
    response = client.post(
        "/save-the-river/", form_data(alpha.nation, petition, email="not-an-email", last_name="")
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert body.count('class="errorlist') >= 2
    assert 'value="Zoé"' in body and 'value="not-an-email"' in body
    with schema_context(alpha.nation.schema_name):
        assert not Person.objects.filter(first_name="Zoé").exists()
        assert not Submission.objects.exists()


def test_a_form_without_a_valid_token_is_refused_with_a_fresh_one(alpha, petition):
    client = client_for(alpha.host)
    response = client.post(
        "/save-the-river/", form_data(alpha.nation, petition, form_token="forged")
    )
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    other = make_page(alpha.nation, kind="petition", title="Other")
    stolen = form_data(alpha.nation, other)["form_token"]  # a token of another page
    response = client.post("/save-the-river/", form_data(alpha.nation, petition, form_token=stolen))
    assert response.status_code == 400
    with schema_context(alpha.nation.schema_name):
        assert not Submission.objects.exists()


def test_a_post_from_another_site_is_refused(alpha, petition):
    response = client_for(alpha.host).post(
        "/save-the-river/", form_data(alpha.nation, petition), HTTP_ORIGIN="https://evil.example"
    )
    assert response.status_code == 403
    ok = client_for(alpha.host).post(
        "/save-the-river/", form_data(alpha.nation, petition), HTTP_ORIGIN=f"http://{alpha.host}"
    )
    assert ok.status_code == 303
