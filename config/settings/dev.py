from .base import *  # noqa: F403
from .base import SENTRY_DSN, STORAGES
from .env import env
from .sentry import init_sentry

DEBUG = env.bool("DEBUG", default=True)
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
init_sentry(SENTRY_DSN, environment="development")
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
