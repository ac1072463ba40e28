"""Which host serves what, and URLs to them."""

from __future__ import annotations

from django.conf import settings


def _port_suffix() -> str:
    port = settings.PLATFORM_PORT
    default = {"http": "80", "https": "443"}[settings.PLATFORM_SCHEME]
    return f":{port}" if port and port != default else ""


def platform_url(path: str = "/") -> str:
    return f"{settings.PLATFORM_SCHEME}://{settings.PLATFORM_DOMAIN}{_port_suffix()}{path}"


def subdomain_for(slug: str) -> str:
    return f"{slug}.{settings.PLATFORM_DOMAIN}"


def nation_url(nation, path: str = "/") -> str:
    return f"{settings.PLATFORM_SCHEME}://{subdomain_for(nation.slug)}{_port_suffix()}{path}"


def is_platform_host(host: str) -> bool:
    return host in {h.lower() for h in settings.PLATFORM_HOSTS}
