"""Celery tasks of the public site: the form intake's worker and its minute restart."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import schema_context

from config.celery import app
from config.tasks import nation_task

from . import intake


@nation_task(name="site.intake", acks_late=True)
def intake_work() -> dict:
    totals = intake.work()
    if totals["more"]:
        intake.start_worker()  # autocommit here: queued now
    return totals


@app.task(name="site.tick")
def tick() -> int:
    """Beat, every minute, in public: restart the intake worker of any nation whose rows wait
    (a lost task, a worker killed mid-run)."""
    from tenants.models import Nation

    from .models import Intake

    restarted = 0
    for nation in Nation.objects.filter(status="active").exclude(schema_name="public"):
        with schema_context(nation.schema_name):
            connection.set_tenant(nation)
            if Intake.objects.filter(processed_at__isnull=True).exists():
                intake.start_worker()
                restarted += 1
    return restarted
