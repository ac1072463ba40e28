"""Celery tasks run in the schema of the nation that enqueued them — with a real worker and
the Redis broker — and a nation task refuses to run in `public`."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker
from celery.exceptions import TimeoutError
from celery.result import AsyncResult
from django.db import connection
from django_tenants.utils import schema_context

from config.celery import app
from config.tasks import NationContextRequired, enqueue
from nations.people.tasks import count_people


def _use_result_backend(url) -> None:
    """Celery caches the backend it resolved first (per thread and app-wide); an earlier test
    that published or ran tasks eagerly would leave "no backend" in place."""
    app.conf.result_backend = url
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


@pytest.fixture(scope="module")
def worker(django_db_blocker):
    from django.conf import settings

    _use_result_backend(settings.CELERY_BROKER_URL)
    with (
        django_db_blocker.unblock(),
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        yield
    _use_result_backend(None)


def test_a_task_enqueued_in_a_nation_runs_in_that_nations_schema(world, worker):
    with schema_context(world.alpha.nation.schema_name):
        alpha_count = count_people.delay().get(timeout=20)
    with schema_context(world.bravo.nation.schema_name):
        bravo_count = count_people.delay().get(timeout=20)
    assert (alpha_count, bravo_count) == (1, 2)


def test_a_nation_task_refuses_to_run_in_public(world, worker):
    assert connection.schema_name == "public"
    result = count_people.delay()
    with pytest.raises(NationContextRequired):
        result.get(timeout=20, propagate=True)


@pytest.mark.django_db
def test_enqueue_sends_after_commit_in_the_callers_schema(
    world, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with schema_context(world.bravo.nation.schema_name):
            task_id = enqueue(count_people)
    result = AsyncResult(task_id, app=app)
    with pytest.raises(TimeoutError):
        result.get(timeout=1)  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    assert result.get(timeout=20) == 2  # bravo's people, counted in bravo's schema
