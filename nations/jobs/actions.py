"""Job lifecycle. Progress writes are single UPDATEs so a worker can call them often."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from .models import Job


def job_create(
    *, kind: str, title: str, created_by_id: int | None = None, total: int | None = None
) -> Job:
    return Job.objects.create(
        kind=kind, title=title[:200], created_by_id=created_by_id, total=total
    )


def job_start(*, job_id: int, total: int | None = None) -> None:
    changes: dict[str, Any] = {"status": Job.Status.RUNNING, "started_at": timezone.now()}
    if total is not None:
        changes["total"] = total
    Job.objects.filter(pk=job_id).update(**changes)


def job_progress(
    *,
    job_id: int,
    done: int | None = None,
    add: int | None = None,
    total: int | None = None,
    message: str | None = None,
) -> None:
    changes: dict[str, Any] = {}
    if done is not None:
        changes["done"] = done
    if add:
        changes["done"] = F("done") + add
    if total is not None:
        changes["total"] = total
    if message is not None:
        changes["message"] = message[:300]
    if changes:
        Job.objects.filter(pk=job_id).update(**changes)


def job_finish(
    *, job_id: int, result: dict | None = None, message: str = "", result_url: str = ""
) -> None:
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.DONE,
        finished_at=timezone.now(),
        result=result or {},
        message=message[:300],
        result_url=result_url,
    )


def job_fail(*, job_id: int, message: str) -> None:
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.FAILED, finished_at=timezone.now(), message=message[:300]
    )
