"""Nation A's every URL, probed from nation B: nothing of A shows, nothing of A changes.

For each pattern of the tenant URLconf (filled with A's ids through registry.py), GET and POST:
  - on A's host, anonymously;
  - on A's host, with B's owner's session cookie (a cookie replayed across hosts);
  - on B's host, logged in as B's owner (A's ids in B's URLs).
Then A's schema and A's public rows must be byte-for-byte what they were.
"""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_tenants.utils import schema_context

from tenants.models import Domain, Membership, Nation

from .registry import KWARG_VALUES

pytestmark = pytest.mark.django_db

TENANT_URLCONF = "config.urls_tenant"
SNAPSHOT_SKIP = {"django_session"}  # anonymous visits may legitimately create sessions


def tenant_routes() -> list[tuple[str, list[str]]]:
    """(view name with namespace, its URL parameter names) for every tenant pattern."""
    routes = []

    def walk(patterns, namespace, inherited):
        for entry in patterns:
            params = list(getattr(entry.pattern, "converters", {}).keys())
            if not params and hasattr(entry.pattern, "regex"):
                params = list(entry.pattern.regex.groupindex)
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, ns, inherited + params)
            elif isinstance(entry, URLPattern) and entry.name:
                fixed = set((entry.default_args or {}).keys())
                routes.append(
                    (namespace + entry.name, [p for p in inherited + params if p not in fixed])
                )

    walk(get_resolver(TENANT_URLCONF).url_patterns, "", [])
    return routes


def urls_for(victim) -> list[str]:
    urls = []
    missing = set()
    for name, params in tenant_routes():
        for param in params:
            if param not in KWARG_VALUES:
                missing.add(f"{param} (in {name})")
        if missing:
            continue
        with schema_context(victim.nation.schema_name):
            choices = [list(KWARG_VALUES[p](victim)) or ["0"] for p in params]
        for combo in itertools.product(*choices):
            urls.append(
                reverse(name, urlconf=TENANT_URLCONF, kwargs=dict(zip(params, combo, strict=True)))
            )
    assert not missing, (
        f"register these URL parameters in tests/isolation/registry.py: {sorted(missing)}"
    )
    return sorted(set(urls))


def snapshot(victim) -> dict:
    schema = victim.nation.schema_name
    state = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        for (table,) in cursor.fetchall():
            if table in SNAPSHOT_SKIP:
                continue
            cursor.execute(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                f' FROM "{schema}"."{table}" t'
            )
            state[table] = cursor.fetchone()[0]
    nation = victim.nation
    state["public.nation"] = list(Nation.objects.filter(pk=nation.pk).values())
    state["public.domains"] = list(Domain.objects.filter(tenant=nation).order_by("pk").values())
    state["public.memberships"] = list(
        Membership.objects.filter(nation=nation).order_by("pk").values()
    )
    state["public.owner_password"] = victim.owner.__class__.objects.get(pk=victim.owner.pk).password
    return state


def assert_no_marker(response, victim, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code}"
    body = response.content.decode(errors="replace")
    for marker in victim.marker_strings + [victim.owner.email]:
        assert marker not in body, f"{where} leaked {marker!r}"


def test_every_url_crawled_from_another_nation_leaks_and_changes_nothing(alpha, bravo):
    # Give the victim a custom domain too, so domain URLs have a row to aim at.
    Domain.objects.create(
        domain="alpha-secret.org", tenant=alpha.nation, is_custom=True, verification_token="tok"
    )
    urls = urls_for(alpha)
    assert "/panel/people/" in urls and f"/panel/people/{alpha.markers[0].pk}/" in urls
    before = snapshot(alpha)

    anonymous = Client(HTTP_HOST=alpha.host)
    attacker_home = Client(HTTP_HOST=bravo.host)
    attacker_home.post(
        "/panel/login/", {"email": bravo.owner.email, "password": "correct-horse-battery-staple"}
    )
    assert attacker_home.get("/panel/").status_code == 200
    replayed = Client(HTTP_HOST=alpha.host)
    replayed.cookies = attacker_home.cookies

    probes = 0
    for url in urls:
        for label, browser in (
            ("anonymous on A", anonymous),
            ("B's cookie on A", replayed),
            ("B's staff on B", attacker_home),
        ):
            for method in ("get", "post"):
                response = getattr(browser, method)(
                    url,
                    {"hostname": "x.org", "email": "x@x.org", "role": "owner", "name": "Hacked"},
                )
                assert_no_marker(response, alpha, f"{method.upper()} {url} as {label}")
                probes += 1
        # Make sure the attacker is still logged in (a logout URL may have ended the session).
        if attacker_home.get("/panel/").status_code != 200:
            attacker_home.post(
                "/panel/login/",
                {"email": bravo.owner.email, "password": "correct-horse-battery-staple"},
            )
    assert probes >= 6 * 20
    assert snapshot(alpha) == before


def test_the_crawler_would_see_a_leak(alpha):
    """The probe is not blind: A's own owner on A's host does see A's marker."""
    owner = Client(HTTP_HOST=alpha.host)
    owner.post(
        "/panel/login/", {"email": alpha.owner.email, "password": "correct-horse-battery-staple"}
    )
    response = owner.get(f"/panel/people/{alpha.markers[0].pk}/")
    with pytest.raises(AssertionError):
        assert_no_marker(response, alpha, "owner")
