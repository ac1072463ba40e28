"""Imports run in a Celery worker, in the nation's schema, in the language of whoever started
them (the report's messages are stored as they will be read)."""

from __future__ import annotations

from django.utils import translation

from config.tasks import nation_task


@nation_task(name="imports.run_import", acks_late=True)
def run_import(import_id: int, max_chunks: int | None = None) -> None:
    from .actions import import_run
    from .models import Import

    language = Import.objects.filter(pk=import_id).values_list("language", flat=True).first()
    with translation.override(language or None):
        import_run(import_id, max_chunks=max_chunks)
