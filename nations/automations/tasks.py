"""Beat runs `automations.tick` every minute in public; it runs each nation's tick in its
schema, for nations whose plan includes automations and that have an active automation."""

from __future__ import annotations

import logging

from django.db import connection
from django.utils import translation
from django_tenants.utils import schema_context

from config.celery import app

log = logging.getLogger(__name__)


def nation_enabled(nation) -> bool:
    from billing.limits import FeatureNotInPlan, require_feature

    try:
        require_feature(nation, "automations")
    except FeatureNotInPlan:
        return False
    return True


@app.task(name="automations.tick")
def tick(now=None) -> None:
    from tenants.models import Nation

    from .engine import tick_nation

    for nation in Nation.objects.filter(status="active").exclude(schema_name="public"):
        if not nation_enabled(nation):
            continue
        # Messages the engine stores (a loop stopped, why someone left) and staff
        # notifications are written in the nation's language.
        with schema_context(nation.schema_name), translation.override(nation.language or "en"):
            connection.set_tenant(nation)
            try:
                tick_nation(now=now)
            except Exception:  # one nation's failure must not stop the others' automations
                log.exception("automations tick failed for %s", nation.schema_name)
