"""Platform tasks: they run in the public schema and act on nations by id."""

from __future__ import annotations

import logging

from django.utils import timezone

from config.celery import app

from .actions import domain_verify, nation_purge
from .exports import export_nation_data
from .models import Domain, Nation

log = logging.getLogger(__name__)


@app.task(name="tenants.export_nation", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def export_nation(nation_id: int) -> str | None:
    nation = Nation.objects.filter(pk=nation_id).first()
    if nation is None:
        return None
    path = export_nation_data(nation)
    Nation.objects.filter(pk=nation_id).update(export_file=str(path))
    return str(path)


@app.task(name="tenants.purge_due_nations")
def purge_due_nations() -> int:
    """Delete nations whose deletion date has passed. One without an export is exported first."""
    purged = 0
    due = Nation.objects.filter(
        status=Nation.Status.SCHEDULED_FOR_DELETION, deletion_due_at__lte=timezone.now()
    )
    for nation in due:
        if not nation.export_file:
            export_nation(nation.pk)
            nation.refresh_from_db()
        nation_purge(nation=nation)
        purged += 1
    return purged


@app.task(name="tenants.verify_pending_domains")
def verify_pending_domains() -> int:
    verified = 0
    for domain in Domain.objects.filter(is_custom=True, verified=False)[:500]:
        try:
            verified += domain_verify(domain=domain)
        except Exception:  # one broken domain must not stop the others
            log.exception("verifying %s failed", domain.domain)
    return verified
