"""Helpers for the website tests: pages made through the actions, mail sent for real."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from nations.site.actions import page_publish, page_save, survey_question_save
from nations.site.forms import consent_wording, form_token
from nations.site.models import Page


@pytest.fixture
def sent(mailbox, eager_tasks):
    """The mailbox, with tasks run in-process; POST through `submit` so that what a view does
    after commit (the autoresponse) happens (tests run inside a transaction that never commits)."""
    return mailbox


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    def post(client, url, data, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data, **extra)

    return post


def make_page(nation, *, publish=True, questions=(), **fields) -> Page:
    """A page made through the actions; `questions` (survey): dicts of survey_question_save's
    arguments (kind, label, choices, required), added in order."""
    fields.setdefault("title", "A page")
    fields.setdefault("slug", fields["title"].lower().replace(" ", "-"))
    fields.setdefault("kind", "basic")
    with schema_context(nation.schema_name):
        page = page_save(page=Page(), data=fields)
        for question in questions:
            survey_question_save(page=page, **question)
        if publish:
            page_publish(page=page)
        return page


def form_data(nation, page, **values) -> dict:
    with schema_context(nation.schema_name):
        token = form_token(page, consent_wording(page, nation.name))
    data = {
        "form_token": token,
        "first_name": "Zoé",
        "last_name": "Martin",
        "email": "zoe@example.org",
    }
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`committed(client.post, url, data)`: what runs after commit (cache invalidation, email)
    runs, as it would outside the test's transaction."""

    def run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return run


def question_fields(nation, page) -> dict[str, str]:
    """The public form's field name of each of a survey's questions, by wording."""
    with schema_context(nation.schema_name):
        return {q.label: f"q_{q.pk}" for q in page.survey_questions.all()}
