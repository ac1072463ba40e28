"""Settings of the gunicorn server the website benchmark starts: the test settings plus one
bare hello-world URL, so the baseline goes through the same server, middleware and host routing."""

import os

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "tests.perf.site_urls"
DEBUG = False
# Persistent connections, as production runs (the test settings close them after each request
# for the live-server threads' sake; a new PostgreSQL connection per request would dominate).
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
# The intake worker the bench starts sends each signer's autoresponse through the delivery
# pipeline, to a local SMTP server that discards it (tests/perf/comms_sink.py).
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("BENCH_SMTP_PORT", "1"))
