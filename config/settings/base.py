"""Settings shared by every environment. Each value comes from the environment, with a working
default for the embedded dev stack (see config/devstack.py); production.py refuses to start
without the values that have no safe default."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .env import BASE_DIR, database_from_url, env, redis_urls, secret

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = secret("SECRET_KEY", "dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
# Fernet keys for secrets at rest (config/crypto.py), newest first; derived from SECRET_KEY if unset.
FIELD_ENCRYPTION_KEYS = secret("FIELD_ENCRYPTION_KEYS", "")

# --- Hosts -----------------------------------------------------------------------------------
# The platform answers on PLATFORM_DOMAIN; nation N on N.PLATFORM_DOMAIN and on the custom
# domains it verified. Django's own ALLOWED_HOSTS check is replaced by
# tenants.middleware.NationRoutingMiddleware, which admits exactly those hosts (custom domains
# are rows in the database, so a static list cannot name them) and answers 404 to the rest.
PLATFORM_DOMAIN = env("PLATFORM_DOMAIN", default="localhost")
PLATFORM_HOSTS = env.list("ALLOWED_HOSTS", default=[PLATFORM_DOMAIN, f"www.{PLATFORM_DOMAIN}"])
ALLOWED_HOSTS = ["*"]
PLATFORM_SCHEME = env("PLATFORM_SCHEME", default="http")
PLATFORM_PORT = env("PLATFORM_PORT", default="8000")  # appended to links we build; "" for 80/443
PLATFORM_NAME = env("PLATFORM_NAME", default="Nations")

# --- Apps ------------------------------------------------------------------------------------
SHARED_APPS = [
    "tenants",  # before django_tenants: its migrate_schemas also keeps the template migrated
    "django_tenants",
    "billing",
    "nations.donations.connect",  # public half of donations: connected accounts, Connect events
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "anymail",
]
# Each nation's schema. Sessions live in every schema, so a session made on nation A's host
# does not exist on nation B's: a stolen or replayed cookie authenticates nowhere else.
TENANT_APPS = [
    "django.contrib.sessions",
    "nations.people",
    "nations.jobs",
    "nations.imports",
    "nations.panel",
    "nations.site",
    "nations.donations",
    "nations.comms",
    "nations.social",
    "nations.automations",
]
INSTALLED_APPS = list(SHARED_APPS) + [a for a in TENANT_APPS if a not in SHARED_APPS]

TENANT_MODEL = "tenants.Nation"
TENANT_DOMAIN_MODEL = "tenants.Domain"
TENANT_TEMPLATE_SCHEMA = "nation_template"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# django-tenants issues `SET search_path` once per connection and schema switch, not before
# every cursor (which doubled the round trips of every ORM query). Safe here: the backend forgets
# the cached path on rollback, savepoint rollback, close and every set_tenant(), and the only raw
# search_path changes (tenants/provisioning.py) are SET LOCAL followed by a reset.
TENANT_LIMIT_SET_CALLS = True
AUTH_USER_MODEL = "tenants.User"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.middleware.NationRoutingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "tenants.middleware.NationLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenants.middleware.NationStatusMiddleware",
    "billing.middleware.ReadOnlyPanelMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.platform",
                "billing.context_processors.billing",
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# --- Data ------------------------------------------------------------------------------------
DATABASES = {
    "default": database_from_url(
        env("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/nations")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL, _CACHE_URL = redis_urls(REDIS_URL)
CACHES = {
    "default": {
        "BACKEND": "config.cache.RedisCache",  # Django's, reusing its redis client
        "LOCATION": _CACHE_URL,
        # Every key is prefixed with the current schema: nation A never reads nation B's entry.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}

# --- Celery ----------------------------------------------------------------------------------
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "verify-pending-domains": {"task": "tenants.verify_pending_domains", "schedule": 600.0},
    "purge-nations-due-for-deletion": {"task": "tenants.purge_due_nations", "schedule": 3600.0},
    "billing-state-transitions": {"task": "billing.tick", "schedule": 900.0},
    "comms-tick": {"task": "comms.tick", "schedule": 60.0},
    "comms-bounce-mailbox": {"task": "comms.poll_bounces", "schedule": 60.0},
    "social-tick": {"task": "social.tick", "schedule": 60.0},
    "automations-tick": {"task": "automations.tick", "schedule": 60.0},
    "site-intake-tick": {"task": "site.tick", "schedule": 60.0},
}

# --- Accounts and security -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "panel:login"
SESSION_COOKIE_DOMAIN = None  # host-only: never shared between nations' hosts
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_VIEW = "config.views.rate_limited"
SIGNUP_RATE = env("SIGNUP_RATE", default="10/h")
LOGIN_RATE = env("LOGIN_RATE", default="20/m")
# Public site forms (petitions, RSVPs...): per visitor IP, and per page as a flood guard.
SITE_FORM_IP_RATE = env("SITE_FORM_IP_RATE", default="20/m")
SITE_FORM_PAGE_RATE = env("SITE_FORM_PAGE_RATE", default="6000/m")
# Form submissions a web process records itself at once; more at the same time (a burst) wait
# in the form intake and are recorded by the worker right after (nations/site/intake.py).
# 0: every petition/signup/survey submission goes through the intake.
SITE_INLINE_SUBMISSIONS = env.int("SITE_INLINE_SUBMISSIONS", default=1)
# Connections that apply an import's chunks at once (commits stay in file order); 1 applies
# them one after the other on the worker's own connection.
IMPORT_APPLIERS = env.int("IMPORT_APPLIERS", default=2)

# --- Email -----------------------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="smtp://127.0.0.1:1025")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = secret("EMAIL_HOST_PASSWORD", _email.get("EMAIL_HOST_PASSWORD", ""))
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 15
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default=f"Nations <no-reply@{PLATFORM_DOMAIN}>")

# --- Communication pipeline (nations/comms) ----------------------------------------------------
# "smtp" = the EMAIL_* server above with the pipeline's own hand-over; or a Django email backend
# path, e.g. "anymail.backends.amazon_ses.EmailBackend" (then ANYMAIL settings as anymail says).
COMMS_EMAIL_BACKEND = env("COMMS_EMAIL_BACKEND", default="smtp")
COMMS_SMTP_HOST = env("COMMS_SMTP_HOST", default="")  # a relay for bulk mail; else EMAIL_HOST
COMMS_SMTP_PORT = env.int("COMMS_SMTP_PORT", default=0)
COMMS_RATES = {
    "email": {
        "global": env.float("COMMS_EMAIL_RATE", default=5000.0),  # messages/s, all nations
        "nation": env.float("COMMS_EMAIL_NATION_RATE", default=2000.0),  # messages/s, one nation
    }
}
COMMS_BATCH = env.int("COMMS_BATCH", default=100)
COMMS_PUMPS = env.int("COMMS_PUMPS", default=2)  # concurrent senders per blast
COMMS_PUMP_SECONDS = env.float("COMMS_PUMP_SECONDS", default=120.0)  # then the pump re-queues
COMMS_SENDING_TIMEOUT = env.float("COMMS_SENDING_TIMEOUT", default=600.0)  # reaper's patience
COMMS_SNAPSHOT_STEP = env.int("COMMS_SNAPSHOT_STEP", default=250_000)  # person ids per INSERT
# The hand-over journal (nations/comms/journal.py): "file" (local disk: exactly-once per host) or
# "redis" (shared: exactly-once across hosts, one Redis round trip per message).
COMMS_JOURNAL = env("COMMS_JOURNAL", default="file")
COMMS_JOURNAL_DIR = env.path("COMMS_JOURNAL_DIR", default=str(BASE_DIR / "var" / "comms-journal"))
COMMS_BOUNCE_ADDRESS = env("COMMS_BOUNCE_ADDRESS", default="")  # envelope sender (Return-Path)
COMMS_SPF_INCLUDE = env("COMMS_SPF_INCLUDE", default=f"include:_spf.{PLATFORM_DOMAIN}")
# Sign self-sent mail with each sender's DKIM key (needs dkimpy; RSA-2048 costs ~5-14 ms per
# message in pure Python, so turn it on where no relay signs for you).
COMMS_DKIM_SIGN = env.bool("COMMS_DKIM_SIGN", default=False)
# A nation's own SMTP relay must resolve to a public address (no requests into our network).
COMMS_NATION_RELAY_ALLOW_PRIVATE = env.bool("COMMS_NATION_RELAY_ALLOW_PRIVATE", default=False)
# The inbound bounce mailbox, polled every minute: an IMAP URL
# (imaps://user:password@host:993/INBOX) and/or a Maildir path for self-hosters. Empty: off.
COMMS_BOUNCE_IMAP_URL = secret("COMMS_BOUNCE_IMAP_URL", "")
COMMS_BOUNCE_MAILDIR = env("COMMS_BOUNCE_MAILDIR", default="")
ANYMAIL = {"WEBHOOK_SECRET": secret("ANYMAIL_WEBHOOK_SECRET", "") or None}

# --- SMS and voice (Twilio; nations/comms/telephony.py) -----------------------------------------
# The platform's account, used by nations that do not connect their own (metered by plan).
# TWILIO_API_BASE points the official SDK at the local Twilio server (config/twilio_server).
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = secret("TWILIO_AUTH_TOKEN", "")
TWILIO_API_BASE = env("TWILIO_API_BASE", default="")
TWILIO_FROM = env("TWILIO_FROM", default="")  # the platform's sender number or alphanumeric id
TWILIO_TIMEOUT = env.float("TWILIO_TIMEOUT", default=10.0)
COMMS_RATES["sms"] = {
    "global": env.float("COMMS_SMS_RATE", default=1000.0),
    "nation": env.float("COMMS_SMS_NATION_RATE", default=100.0),
}
COMMS_RATES["voice"] = {
    "global": env.float("COMMS_VOICE_RATE", default=100.0),
    "nation": env.float("COMMS_VOICE_NATION_RATE", default=10.0),
}
COMMS_SMS_SEGMENT_PRICE = env.float("COMMS_SMS_SEGMENT_PRICE", default=0.08)  # an estimate
COMMS_SMS_PRICE_CURRENCY = env("COMMS_SMS_PRICE_CURRENCY", default="EUR")
COMMS_VOICE_AUDIO_MAX_BYTES = env.int("COMMS_VOICE_AUDIO_MAX_BYTES", default=5 * 1024 * 1024)
# Longest WAV message accepted, and the panel recorder's cap (its 8 kHz 16-bit mono takes are
# 16 KB a second: 2 minutes is under 2 MB).
COMMS_VOICE_AUDIO_MAX_SECONDS = env.int("COMMS_VOICE_AUDIO_MAX_SECONDS", default=120)

# --- Social posts (X, Mastodon) ----------------------------------------------------------------
# The platform's X app (OAuth 1.0a consumer key and secret); nations bring their access tokens.
# SOCIAL_X_API_BASE sends tweepy's requests to another server (the local one of config/
# social_server, which `make run` starts when no key is set); empty means api.twitter.com.
SOCIAL_X_CONSUMER_KEY = secret("SOCIAL_X_CONSUMER_KEY", "")
SOCIAL_X_CONSUMER_SECRET = secret("SOCIAL_X_CONSUMER_SECRET", "")
SOCIAL_X_API_BASE = env("SOCIAL_X_API_BASE", default="")
# Mastodon instances must be https, except with this on (the local server in dev and tests).
SOCIAL_MASTODON_ALLOW_HTTP = env.bool("SOCIAL_MASTODON_ALLOW_HTTP", default=False)
COMMS_RATES["social"] = {"global": 50.0, "nation": 5.0}  # posts/s: networks throttle hard

# --- Automations (nations/automations) ---------------------------------------------------------
AUTOMATIONS_BATCH = env.int("AUTOMATIONS_BATCH", default=1000)  # due enrolments per transaction
AUTOMATIONS_LOOKBACK = env.int("AUTOMATIONS_LOOKBACK", default=300)  # s of timeline re-read
AUTOMATIONS_MAX_DEPTH = env.int("AUTOMATIONS_MAX_DEPTH", default=5)  # automations in one chain
# Birthday trigger: after a day without ticks (worker down), birthdays missed up to this many days
# before today still enrol; older ones are skipped (a week-late "happy birthday" reads badly).
AUTOMATIONS_BIRTHDAY_CATCHUP_DAYS = env.int("AUTOMATIONS_BIRTHDAY_CATCHUP_DAYS", default=3)

# --- Custom domains --------------------------------------------------------------------------
NATIONS_DNS_RESOLVER = env("NATIONS_DNS_RESOLVER", default="tenants.dns.SystemResolver")
NATIONS_DNS_NAMESERVERS = env.list("NATIONS_DNS_NAMESERVERS", default=[])
NATIONS_DNS_PORT = env.int("NATIONS_DNS_PORT", default=53)
NATIONS_DELETION_GRACE_DAYS = env.int("NATIONS_DELETION_GRACE_DAYS", default=30)

# --- Billing (Stripe) -------------------------------------------------------------------------
# Without a key, plans and limits still apply but no payment can be taken. STRIPE_API_BASE points
# the SDK at the local Stripe server (config/stripe_server; `make run` starts one when no key is
# set); empty means Stripe itself.
STRIPE_SECRET_KEY = secret("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = secret("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
# Donations: events of the nations' connected accounts come to a Connect endpoint with its own
# signing secret (nations/donations/webhooks.py).
STRIPE_CONNECT_WEBHOOK_SECRET = secret("STRIPE_CONNECT_WEBHOOK_SECRET", "")
BILLING_TRIAL_DAYS = env.int("BILLING_TRIAL_DAYS", default=14)
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=7)  # past due, then read-only
BILLING_SITE_DAYS = env.int("BILLING_SITE_DAYS", default=14)  # read-only, then suspended

# --- i18n ------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- Static and media ------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "media"))
# Files of nation N live under MEDIA_ROOT/N/ (django-tenants' storage prefixes the schema).
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
STORAGES = {
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Observability ---------------------------------------------------------------------------
SENTRY_DSN = secret("SENTRY_DSN", "")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}

# Where the data of a nation scheduled for deletion is exported before its schema is dropped.
NATIONS_EXPORT_ROOT = env.path("NATIONS_EXPORT_ROOT", default=str(BASE_DIR / "var" / "exports"))
