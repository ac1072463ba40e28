"""Production refuses to start without its required environment; Sentry is opt-in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgres://u:p@db.internal:5432/nations",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "ALLOWED_HOSTS": "nations.example",
    "PLATFORM_DOMAIN": "nations.example",
}


def load_production(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in REQUIRED
        and not k.endswith("_FILE")
        and k != "SENTRY_DSN"
        and not k.startswith("STRIPE_")
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings.production")
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print('OK', settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.PLATFORM_DOMAIN)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=clean,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_production_refuses_to_start_without(missing):
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    result = load_production(env)
    assert result.returncode != 0
    assert missing in result.stderr and "Production settings need" in result.stderr


def test_production_starts_with_everything_and_is_locked_down():
    result = load_production(REQUIRED)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK False True nations.example"


def test_secrets_can_come_from_files(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s" * 60 + "\n")
    env = {k: v for k, v in REQUIRED.items() if k != "SECRET_KEY"}
    env["SECRET_KEY_FILE"] = str(secret)
    assert load_production(env).returncode == 0


def test_a_short_secret_key_is_refused():
    result = load_production({**REQUIRED, "SECRET_KEY": "short"})
    assert result.returncode != 0 and "SECRET_KEY must be at least" in result.stderr


def test_sentry_is_on_only_with_a_dsn_and_without_pii():
    from config.settings.sentry import init_sentry

    assert init_sentry("", environment="test") is False
    code = (
        "import sentry_sdk; from config.settings.sentry import init_sentry; "
        "init_sentry('http://key@127.0.0.1:9/1', environment='t'); "
        "c = sentry_sdk.get_client(); "
        "print(c.options['send_default_pii'], sorted(c.integrations))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.startswith("False")
        and "celery" in result.stdout
        and "django" in result.stdout
    )


def test_production_with_stripe_needs_the_connect_webhook_secret():
    stripe = {**REQUIRED, "STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_b"}
    result = load_production(stripe)
    assert result.returncode != 0 and "STRIPE_CONNECT_WEBHOOK_SECRET" in result.stderr
    assert load_production({**stripe, "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_c"}).returncode == 0
