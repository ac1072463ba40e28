"""Beat: every minute, each active nation's scheduled posts whose time has come."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import schema_context

from config.celery import app


@app.task(name="social.tick")
def tick() -> None:
    from tenants.models import Nation

    from .actions import posts_launch_due

    for nation in Nation.objects.filter(status="active").exclude(schema_name="public"):
        with schema_context(nation.schema_name):
            connection.set_tenant(nation)
            posts_launch_due()
