"""The survey question builder in the panel: staff add, edit, reorder and remove questions (htmx,
each form also a plain POST); visitors answer them; surveys made before the builder keep their
questions; one nation cannot touch another's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation
from django_tenants.utils import schema_context

from nations.site.models import Submission, SurveyQuestion
from tests.conftest import client_for

from .conftest import form_data, make_page, question_fields

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def owner(world):
    return client_for(world.host, world.owner, world.nation)


def labels(world, page) -> list[tuple[str, str, list, bool]]:
    with schema_context(world.nation.schema_name):
        return [
            (q.label, q.kind, q.choices, q.required)
            for q in SurveyQuestion.objects.filter(page=page)
        ]


def test_staff_build_a_survey_question_by_question_and_visitors_answer_it(alpha, committed, submit):
    page = make_page(alpha.nation, kind="survey", title="Priorities")
    panel = owner(alpha)
    edit = panel.get(f"/panel/website/pages/{page.pk}/").content.decode()
    assert "No questions yet" in edit and 'id="survey-builder"' in edit
    add = f"/panel/website/pages/{page.pk}/questions/"

    response = panel.post(
        add, {"new-label": "Your street", "new-kind": "short", "new-choices": ""}, **HTMX
    )
    builder = response.content.decode()
    assert response.status_code == 200 and builder.startswith('<section id="survey-builder"')
    assert "Question added." in builder and "Your street" in builder
    # A choice question with one option is refused next to the field; nothing is stored.
    response = panel.post(
        add, {"new-label": "Transport", "new-kind": "single", "new-choices": "Bike"}, **HTMX
    )
    assert "A choice question needs at least two options." in response.content.decode()
    assert 'value="Transport"' in response.content.decode()  # what was typed is kept
    assert [row[0] for row in labels(alpha, page)] == ["Your street"]
    panel.post(
        add,
        {"new-label": "Transport", "new-kind": "single", "new-choices": "Bike\n Bus \nBike\n"},
        **HTMX,
    )
    panel.post(
        add,
        {"new-label": "Topics", "new-kind": "multiple", "new-choices": "Parks\nSchools"},
        **HTMX,
    )
    # Same wording twice would mix the answers: refused.
    response = panel.post(add, {"new-label": "transport", "new-kind": "short"}, **HTMX)
    assert "already says this" in response.content.decode()
    assert labels(alpha, page) == [
        ("Your street", "short", [], False),
        ("Transport", "single", ["Bike", "Bus"], False),
        ("Topics", "multiple", ["Parks", "Schools"], False),
    ]

    with schema_context(alpha.nation.schema_name):
        street, transport, topics = SurveyQuestion.objects.filter(page=page)
    one = f"/panel/website/pages/{page.pk}/questions/"
    # Make Transport required (plain POST, no htmx: back to the page), move Topics up, remove
    # the street question.
    response = panel.post(
        f"{one}{transport.pk}/",
        {
            "action": "save",
            f"q{transport.pk}-label": "How do you travel?",
            f"q{transport.pk}-kind": "single",
            f"q{transport.pk}-choices": "Bike\nBus\nCar",
            f"q{transport.pk}-required": "on",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("#questions")
    panel.post(f"{one}{topics.pk}/", {"action": "up"}, **HTMX)
    response = panel.post(f"{one}{street.pk}/", {"action": "remove"}, **HTMX)
    assert "Question removed." in response.content.decode()
    assert labels(alpha, page) == [
        ("Topics", "multiple", ["Parks", "Schools"], False),
        ("How do you travel?", "single", ["Bike", "Bus", "Car"], True),
    ]

    # The visitor sees the questions in that order; the required one is enforced.
    visitor = client_for(alpha.host)
    body = visitor.get("/priorities/").content.decode()
    assert body.index("Topics") < body.index("How do you travel?") and "Your street" not in body
    q = question_fields(alpha.nation, page)
    assert visitor.post("/priorities/", form_data(alpha.nation, page)).status_code == 400
    response = submit(
        visitor,
        "/priorities/",
        form_data(alpha.nation, page, **{q["How do you travel?"]: "Car", q["Topics"]: ["Parks"]}),
    )
    assert response.status_code == 303
    with schema_context(alpha.nation.schema_name):
        answers = Submission.objects.get(page=page).answers
    assert answers == {"Topics": ["Parks"], "How do you travel?": "Car"}

    # Renaming a question later keeps the answer given to the old wording in the export.
    with schema_context(alpha.nation.schema_name):
        transport.refresh_from_db()
    panel.post(
        f"{one}{transport.pk}/",
        {
            "action": "save",
            f"q{transport.pk}-label": "Main way to travel",
            f"q{transport.pk}-kind": "single",
            f"q{transport.pk}-choices": "Bike\nBus\nCar",
        },
        **HTMX,
    )
    csv = b"".join(
        panel.get(f"/panel/website/pages/{page.pk}/responses/?format=csv").streaming_content
    ).decode()
    header, row = csv.splitlines()[:2]
    assert header.endswith("Topics,Main way to travel,How do you travel?")
    assert row.endswith("Parks,,Car")


def test_a_change_to_a_published_survey_reaches_visitors_at_once(alpha, committed):
    page = make_page(
        alpha.nation, kind="survey", title="Poll", questions=[{"kind": "short", "label": "Name"}]
    )
    visitor = client_for(alpha.host)
    assert "Favourite colour" not in visitor.get("/poll/").content.decode()  # now cached
    committed(
        owner(alpha).post,
        f"/panel/website/pages/{page.pk}/questions/",
        {"new-label": "Favourite colour", "new-kind": "short"},
    )
    assert "Favourite colour" in visitor.get("/poll/").content.decode()


def test_a_nation_cannot_read_or_change_another_nations_questions(alpha, bravo):
    theirs = make_page(
        bravo.nation,
        kind="survey",
        title="Bravo poll",
        questions=[{"kind": "short", "label": "Bravo's secret question"}],
    )
    with schema_context(bravo.nation.schema_name):
        question = SurveyQuestion.objects.get(page=theirs)
    panel = owner(alpha)
    base = f"/panel/website/pages/{theirs.pk}/questions/"
    for url, data in (
        (base, {"new-label": "Injected", "new-kind": "short"}),
        (f"{base}{question.pk}/", {"action": "remove"}),
        (f"{base}{question.pk}/", {"action": "save", f"q{question.pk}-label": "Changed"}),
    ):
        response = panel.post(url, data, **HTMX)
        assert response.status_code == 404
        assert "Bravo's secret question" not in response.content.decode()
    # Alpha's own survey with the same page id, if any, does not reach Bravo's question either.
    mine = make_page(alpha.nation, kind="survey", title="Alpha poll")
    response = panel.post(
        f"/panel/website/pages/{mine.pk}/questions/{question.pk}/", {"action": "remove"}
    )
    assert response.status_code == 404
    assert labels(bravo, theirs) == [("Bravo's secret question", "short", [], False)]


def test_surveys_made_before_the_builder_keep_their_questions(alpha):
    """The migration's data step, run on a page row as it was stored before (the JSON column
    put back for the test, inside its transaction)."""
    from importlib import import_module

    migration = import_module("nations.site.migrations.0002_surveyquestion")
    page = make_page(alpha.nation, kind="survey", title="Old survey", publish=False)
    with schema_context(alpha.nation.schema_name):
        old_state = MigrationExecutor(connection).loader.project_state(("site", "0001_initial"))
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks before DDL
            cursor.execute("ALTER TABLE site_page ADD COLUMN questions jsonb NOT NULL DEFAULT '[]'")
            cursor.execute(
                "UPDATE site_page SET questions = %s::jsonb WHERE id = %s",
                [
                    '[{"id": 1, "kind": "single", "label": "Transport", "choices": ["Bike", '
                    '"Bus"], "required": true}, {"id": 2, "kind": "long", "label": "Why?", '
                    '"choices": [], "required": false}, {"id": 3, "kind": "odd", "label": '
                    '"Street"}, {"label": "  "}]',
                    page.pk,
                ],
            )

        class Apps:  # the page as it was; the question as it is now
            def get_model(self, app, name):
                if name == "Page":
                    return old_state.apps.get_model(app, name)
                return SurveyQuestion

        migration.questions_to_rows(Apps(), None)
    assert labels(alpha, page) == [
        ("Transport", "single", ["Bike", "Bus"], True),
        ("Why?", "long", [], False),
        ("Street", "short", [], False),
    ]


def test_the_builder_speaks_french(alpha, settings):
    page = make_page(alpha.nation, kind="survey", title="Sondage", publish=False)
    panel = owner(alpha)
    panel.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    body = panel.get(f"/panel/website/pages/{page.pk}/").content.decode()
    assert "Aucune question pour l’instant" in body or "Aucune question pour l'instant" in body
    assert "Ajouter la question" in body and "Choix multiple" in body
    response = panel.post(
        f"/panel/website/pages/{page.pk}/questions/",
        {"new-label": "Transport", "new-kind": "single", "new-choices": "Vélo"},
        **HTMX,
    )
    assert "Une question à choix demande au moins deux options." in response.content.decode()
    translation.deactivate()  # the request left French active in this thread


def test_the_export_shows_a_visitors_formula_as_text(alpha, submit):
    page = make_page(
        alpha.nation,
        kind="survey",
        title="Ideas",
        questions=[{"kind": "short", "label": "Your idea"}],
    )
    idea = question_fields(alpha.nation, page)["Your idea"]
    data = form_data(alpha.nation, page, first_name="=cmd", **{idea: '=HYPERLINK("x")'})
    assert submit(client_for(alpha.host), "/ideas/", data).status_code == 303
    csv = b"".join(
        owner(alpha).get(f"/panel/website/pages/{page.pk}/responses/?format=csv").streaming_content
    ).decode()
    row = csv.splitlines()[1]
    assert row.startswith("'=cmd,") and row.endswith('\'=HYPERLINK(""x"")"')
