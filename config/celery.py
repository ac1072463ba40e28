"""The Celery app. Tasks carry the schema they were enqueued in (tenant-schemas-celery) and run
inside it; see config/tasks.py for the decorator nation tasks use."""

from tenant_schemas_celery.app import CeleryApp

# DJANGO_SETTINGS_MODULE comes from the environment (manage.py defaults it to dev settings,
# the dev stack and deploy/ set it); setting a default here would leak into every process that
# imports `config`, the dev stack's test runner included.
app = CeleryApp("nations")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
