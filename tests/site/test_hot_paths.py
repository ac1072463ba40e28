"""What the public site's two hot paths cost in SQL (Zulip's queries_captured habit): a cached
page runs none, a petition signature by someone new a fixed handful. A change that adds a
query to either shows up here first (see docs/PERFORMANCE.md, "Public website")."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from nations.people.models import Activity, ConsentChange, Person
from nations.site.actions import page_unpublish
from nations.site.models import Submission
from tests.conftest import client_for

from .conftest import form_data, make_page

pytestmark = pytest.mark.django_db

# Statements of a new person's signature, savepoints aside: token claim, identity lock,
# tombstone lift, match, the person with their email, consent history, tags and timeline (one
# statement), the submission linked to its token (one), share code. (90 before this work.)
NEW_SIGNER_STATEMENTS = 7
# After commit: the autoresponse's row in the delivery pipeline (nations/comms), then its pump.
AFTER_COMMIT_STATEMENTS = 1


def _statements(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "SET search_path"))
    ]


@pytest.fixture
def petition(alpha):
    return make_page(
        alpha.nation,
        kind="petition",
        title="Clean air",
        slug="clean-air",
        tags=["air", "petition:air"],
        consent_wording="Keep me posted about clean air.",
    )


def test_a_cached_page_runs_no_sql(alpha):
    make_page(alpha.nation, title="About us", slug="about", body="<p>Who we are.</p>")
    visitor = client_for(alpha.host)
    first = visitor.get("/about/")
    assert first.status_code == 200 and first["X-Cache"] == "miss"
    with CaptureQueriesContext(connection) as queries:
        again = visitor.get("/about/")
    assert again["X-Cache"] == "hit" and again.content == first.content
    assert queries.captured_queries == []  # not even the host lookup


def test_after_commit_a_signature_queues_its_autoresponse_in_one_statement(
    alpha, petition, django_capture_on_commit_callbacks
):
    visitor = client_for(alpha.host)
    first = form_data(alpha.nation, petition, email="first@example.org", nonce="ac-0")
    assert visitor.post("/clean-air/", first).status_code == 303
    data = form_data(alpha.nation, petition, nonce="ac-1")
    with django_capture_on_commit_callbacks() as callbacks:
        assert visitor.post("/clean-air/", data).status_code == 303
    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:
            callback()
    assert len(_statements(queries)) == AFTER_COMMIT_STATEMENTS, "\n".join(_statements(queries))


def test_a_new_signature_is_a_fixed_handful_of_statements(alpha, petition):
    visitor = client_for(alpha.host)
    # The first signer also creates the page's tags; from the second on, the steady state.
    first = form_data(alpha.nation, petition, email="first@example.org", nonce="hot-0")
    assert visitor.post("/clean-air/", first).status_code == 303
    data = form_data(alpha.nation, petition, city="Lyon", consent="on", nonce="hot-1")
    with CaptureQueriesContext(connection) as queries:
        response = visitor.post("/clean-air/", data)
    assert response.status_code == 303
    statements = _statements(queries)
    assert len(statements) == NEW_SIGNER_STATEMENTS, "\n".join(statements)
    # ... and nothing is lost on the way: the rows the general path writes are all there.
    with schema_context(alpha.nation.schema_name):
        person = Person.objects.get(email="zoe@example.org")
        assert person.search_text and person.last_activity_at and person.recruiter_code
        assert person.email_consent == "granted"
        assert list(person.emails.values_list("address", "is_primary")) == [
            ("zoe@example.org", True)
        ]
        assert sorted(person.taggings.values_list("tag__name", flat=True)) == [
            "air",
            "petition:air",
        ]
        assert list(
            ConsentChange.objects.filter(person=person).values_list("status", "wording")
        ) == [("granted", "Keep me posted about clean air.")]
        assert sorted(Activity.objects.filter(person=person).values_list("kind", flat=True)) == [
            "consent",
            "signed",
            "tagged",
            "tagged",
        ]
        submission = Submission.objects.get(page=petition, person=person)
        assert list(submission.submissiontoken_set.values_list("token", flat=True)) == ["hot-1"]


def test_signing_again_with_the_same_form_load_is_one_signature(alpha, petition):
    visitor = client_for(alpha.host)
    data = form_data(alpha.nation, petition, nonce="double-click")
    first = visitor.post("/clean-air/", data)
    second = visitor.post("/clean-air/", data)
    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    with schema_context(alpha.nation.schema_name):
        assert Submission.objects.filter(page=petition).count() == 1


def test_an_unpublished_page_stops_taking_signatures_at_once(alpha, petition, committed):
    visitor = client_for(alpha.host)
    assert visitor.get("/clean-air/").status_code == 200  # remembered by this process
    with schema_context(alpha.nation.schema_name):
        committed(page_unpublish, page=petition)
    response = visitor.post("/clean-air/", form_data(alpha.nation, petition, nonce="late"))
    assert response.status_code == 404
    with schema_context(alpha.nation.schema_name):
        assert not Submission.objects.filter(page=petition).exists()
