"""The host -> nation answer is kept in memory between requests, and never outlives a change:
a suspension, a removed domain or a renamed nation show on the very next request, in this
process and in every other one (tenants/routing.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenants import routing
from tenants.actions import domain_remove, nation_reactivate, nation_suspend
from tenants.models import Domain

pytestmark = pytest.mark.django_db


def _domain_queries(host: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        Client(HTTP_HOST=host).get("/")
    return sum("tenants_domain" in q["sql"] for q in queries.captured_queries)


def test_the_host_is_looked_up_once_then_answered_from_memory(alpha):
    assert _domain_queries(alpha.host) == 1
    assert _domain_queries(alpha.host) == 0
    assert _domain_queries("nobody.localhost") == 1  # unknown hosts are remembered too
    assert _domain_queries("nobody.localhost") == 0


def test_a_suspension_closes_the_site_on_the_next_request(alpha):
    assert Client(HTTP_HOST=alpha.host).get("/").status_code == 200
    nation_suspend(nation=alpha.nation)
    assert Client(HTTP_HOST=alpha.host).get("/").status_code == 503
    nation_reactivate(nation=alpha.nation)
    assert Client(HTTP_HOST=alpha.host).get("/").status_code == 200


def test_a_suspension_made_by_another_process_is_seen_at_once(alpha):
    """Another process suspends: this one's memory still holds the old answer, but the routing
    generation it checks on every request has moved."""
    assert Client(HTTP_HOST=alpha.host).get("/").status_code == 200
    remembered = dict(routing._hosts)
    nation_suspend(nation=alpha.nation)  # "elsewhere": it also empties this process's memory
    routing._hosts.update(remembered)  # ... which the other processes would still have
    assert Client(HTTP_HOST=alpha.host).get("/").status_code == 503


def test_a_removed_domain_stops_serving_at_once(alpha):
    domain = Domain.objects.create(
        domain="www.alpha-campaign.org",
        tenant=alpha.nation,
        is_custom=True,
        verified=True,
        verification_token="t",
    )
    assert Client(HTTP_HOST="www.alpha-campaign.org").get("/").status_code == 200
    domain_remove(domain=domain)
    assert Client(HTTP_HOST="www.alpha-campaign.org").get("/").status_code == 404


def test_a_renamed_nation_shows_its_new_name_at_once(alpha):
    site = Client(HTTP_HOST=alpha.host)
    assert "Alpha Nation" in site.get("/?fresh=1").content.decode()  # past the page cache
    alpha.nation.name = "Alpha Renamed"
    alpha.nation.save()
    assert "Alpha Renamed" in site.get("/?fresh=2").content.decode()


def test_requests_get_their_own_copy_of_the_nation(alpha):
    from tenants.routing import nation_for_host

    nation_for_host(alpha.host)  # now remembered
    first = nation_for_host(alpha.host)
    first.name = "changed by one request"
    assert nation_for_host(alpha.host).name == "Alpha Nation"
