"""Production: every value without a safe default must come from the environment."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import SENTRY_DSN
from .env import env, secret
from .sentry import init_sentry

_REQUIRED = ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "PLATFORM_DOMAIN"]
_missing = [n for n in _REQUIRED if not (os.environ.get(n) or os.environ.get(f"{n}_FILE"))]
if _missing:
    raise ImproperlyConfigured(
        "Production settings need these environment variables: " + ", ".join(_missing)
    )
SECRET_KEY = secret("SECRET_KEY")
if len(SECRET_KEY or "") < 40:
    raise ImproperlyConfigured("SECRET_KEY must be at least 40 characters long.")

# With a Stripe key the platform takes money for nations: their Connect events (payments,
# renewals checked against the contribution rules, refunds) must be verifiable, or every one of
# them would be refused and nothing recorded.
if STRIPE_SECRET_KEY and not STRIPE_CONNECT_WEBHOOK_SECRET:  # noqa: F405
    raise ImproperlyConfigured(
        "Production settings need STRIPE_CONNECT_WEBHOOK_SECRET (the signing secret of the "
        "Connect endpoint /donations/webhooks/stripe/) when STRIPE_SECRET_KEY is set."
    )

DEBUG = False
PLATFORM_SCHEME = env("PLATFORM_SCHEME", default="https")
PLATFORM_PORT = env("PLATFORM_PORT", default="")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
LOGGING["root"]["level"] = env("LOG_LEVEL", default="INFO")  # noqa: F405

init_sentry(
    SENTRY_DSN,
    environment=env("SENTRY_ENVIRONMENT", default="production"),
    send_pii=env.bool("SENTRY_SEND_PII", default=False),
)
