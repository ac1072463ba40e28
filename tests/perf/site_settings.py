"""Settings of the gunicorn server the website benchmark starts: the test settings plus one
bare hello-world URL, so the baseline goes through the same server, middleware and host routing."""

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "tests.perf.site_urls"
DEBUG = False
# Persistent connections, as production runs (the test settings close them after each request
# for the live-server threads' sake; a new PostgreSQL connection per request would dominate).
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
# The intake worker the bench starts sends each signer's autoresponse through the delivery
# pipeline; the SMTP hop itself is the comms benchmark's business.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
