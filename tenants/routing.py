"""Which nation a host serves, remembered per process between requests.

Every request starts by turning its host into a nation. Asking PostgreSQL each time (a Domain +
Nation join, plus the ORM building it) was the largest part of serving a cached page, so each
process keeps the answer (including "no nation here") for a short while, valid only as long as
the routing generation in Redis has not moved. Anything that changes what a host serves or
whether a nation is open (a suspension, a reactivation, a domain verified or removed, a nation
created, renamed or purged) calls `routing_changed()` — the actions that update rows by
queryset call it, and a signal (tenants/apps.py) catches every saved or deleted Nation and
Domain — which moves the generation: every process asks the database again on its next request,
so a suspension takes effect at once everywhere.
One small Redis GET per request instead of a database round trip; if Redis is unreachable the
database answers, as before."""

from __future__ import annotations

import copy
import logging
import threading
import time

from django.core.cache import cache
from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from .models import Domain, Nation

log = logging.getLogger(__name__)

GENERATION_KEY = "routing:generation"
# A safety net for changes made outside the actions (a shell, a migration): the other fields of
# a nation (name, language, plan...) are at most this old. Status and hosts are never stale.
TTL_SECONDS = 30.0
MAX_HOSTS = 10_000  # bound the memory a flood of unknown hosts can take

_hosts: dict[str, tuple[object, float, Nation | None]] = {}
_lock = threading.Lock()


def _lookup(host: str) -> Nation | None:
    domain = (
        Domain.objects.select_related("tenant")
        .filter(domain=host, verified=True)
        .exclude(tenant__schema_name="public")
        .first()
    )
    return domain.tenant if domain else None


def _generation() -> object | None:
    """The current routing generation; made on first use (and after a cache flush)."""
    try:
        value = cache.get(GENERATION_KEY)
        if value is None:
            cache.add(GENERATION_KEY, time.time_ns(), None)
            value = cache.get(GENERATION_KEY)
        return value
    except Exception:  # Redis down: answer from the database
        log.warning("routing cache unavailable", exc_info=True)
        return None


def nation_for_host(host: str) -> Nation | None:
    """The nation serving `host` (a verified domain), or None. Call in the public schema.

    Returns a copy the caller may change freely."""
    generation = _generation()
    now = time.monotonic()
    if generation is not None:
        entry = _hosts.get(host)
        if entry is not None and entry[0] == generation and entry[1] > now:
            return copy.copy(entry[2]) if entry[2] is not None else None
    nation = _lookup(host)
    if generation is not None:
        with _lock:
            if len(_hosts) >= MAX_HOSTS:
                _hosts.clear()
            _hosts[host] = (generation, now + TTL_SECONDS, copy.copy(nation) if nation else None)
    return nation


def routing_changed() -> None:
    """A host now serves something else, or a nation opened or closed: every process forgets
    what it knew. Done now and again after commit, so a request racing the transaction cannot
    keep the old answer."""

    def bump() -> None:
        try:
            with schema_context(get_public_schema_name()):  # cache keys carry the schema
                try:
                    cache.incr(GENERATION_KEY)
                except ValueError:
                    cache.set(GENERATION_KEY, time.time_ns(), None)
        except Exception:
            log.warning("could not move the routing generation", exc_info=True)
        _hosts.clear()

    bump()
    transaction.on_commit(bump)


def forget_on_change(sender, **kwargs) -> None:
    routing_changed()
