"""How nation work is queued and run.

`nation_task` marks a task that reads or writes one nation's data: it refuses to run in the
public schema (a task enqueued outside a nation's context is a bug, not something to guess
about). `enqueue` sends a task after the current transaction commits, carrying the schema the
caller is in, so the worker never sees ids of rows that were rolled back.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from django.db import connection, transaction

from .celery import app


class NationContextRequired(RuntimeError):
    """A nation task was asked to run in the public schema."""


def nation_task(*task_args: Any, **task_kwargs: Any):
    def decorator(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            if connection.schema_name == "public":
                raise NationContextRequired(
                    f"{func.__module__}.{func.__name__} needs a nation; it was run in 'public'."
                )
            return func(*args, **kwargs)

        return app.task(*task_args, **task_kwargs)(run)

    return decorator


def enqueue(task, *args: Any, **kwargs: Any) -> str:
    """Send `task` once the current transaction commits, in the caller's schema.

    Returns the id the task will run under (for progress bars and results); nothing is sent
    if the transaction rolls back."""
    schema = connection.schema_name
    task_id = uuid.uuid4().hex

    def send() -> None:
        task.apply_async(
            args=args, kwargs=kwargs, task_id=task_id, headers={"_schema_name": schema}
        )

    transaction.on_commit(send)
    return task_id


def enqueue_once(task, *args: Any, mark: str, seconds: int, **options: Any) -> None:
    """Like `enqueue`, unless a run of `task` is already queued and not yet started: `mark`
    (a key in the nation's cache, `SET NX` for `seconds`) says so, and the task deletes it
    when it starts, so whatever committed before that is taken by the queued run. A burst of
    rows (autoresponses, signatures) then costs one publish instead of one each. If the cache
    cannot be reached, the task is queued anyway; a lost task costs at most `seconds` (the
    minute ticks restart work that waits). `options` go to `apply_async` (e.g. priority)."""
    from django.core.cache import cache
    from django_tenants.utils import schema_context

    schema = connection.schema_name

    def send() -> None:
        try:
            with schema_context(schema):  # the nation's mark (cache keys carry the schema)
                fresh = cache.add(mark, 1, seconds)
        except Exception:  # noqa: BLE001 - no mark, no saving: queue one more run
            fresh = True
        if fresh:
            task.apply_async(
                args=args, task_id=uuid.uuid4().hex, headers={"_schema_name": schema}, **options
            )

    transaction.on_commit(send)
