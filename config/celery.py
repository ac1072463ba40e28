"""The Celery app. Tasks carry the schema they were enqueued in (tenant-schemas-celery) and run
inside it; see config/tasks.py for the decorator nation tasks use."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = CeleryApp("nations")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
