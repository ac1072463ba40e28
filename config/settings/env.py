"""Reading the environment: typed values, `*_FILE` secrets, and the dev stack's URLs."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()


def secret(name: str, default: str | None = None) -> str | None:
    """A secret from NAME, or from the file NAME_FILE points at (Docker/Kubernetes secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


def database_from_url(url: str) -> dict:
    """Django DATABASES entry from a postgres:// URL; a percent-encoded host is a socket dir."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = unquote(parts.hostname or "") if parts.hostname else ""
    if "%2f" in (parts.netloc or "").lower():
        # urlsplit lowercases hostnames; a socket path must keep its case.
        host = unquote(parts.netloc.rsplit("@", 1)[-1].rsplit(":", 1)[0])
    host = query.get("host", [host])[0]
    return {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": os.environ.get("NATIONS_DB_NAME_OVERRIDE") or unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": env.int("DB_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": f"test_{unquote(parts.path.lstrip('/'))}"},
    }


def redis_urls(url: str) -> tuple[str, str]:
    """(Celery broker URL, cache URL) from one REDIS_URL, which may be a unix socket."""
    if url.startswith("unix://"):
        path = url[len("unix://") :].split("?")[0]
        return f"redis+socket://{path}?virtual_host=0", f"unix://{path}?db=1"
    base = url.rstrip("/")
    parts = urlsplit(base)
    if parts.path and parts.path != "/":
        db = int(parts.path.lstrip("/"))
        base = base[: -len(parts.path)]
    else:
        db = 0
    return f"{base}/{db}", f"{base}/{db + 1}"
