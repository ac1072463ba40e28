"""Hosts: the platform's, a nation's subdomain, a verified custom domain, and everything else."""

from __future__ import annotations

import pytest
from django.test import Client

from tenants.models import Domain

pytestmark = pytest.mark.django_db


def test_platform_host_serves_the_platform(world):
    response = Client(HTTP_HOST="localhost:8000").get("/")
    assert response.status_code == 200
    assert "Start your nation" in response.content.decode()


def test_a_subdomain_serves_its_nation_and_only_it(alpha, bravo):
    a = Client(HTTP_HOST="alpha.localhost:8000").get("/").content.decode()
    b = Client(HTTP_HOST="bravo.localhost").get("/").content.decode()
    assert "Alpha Nation" in a and "Bravo Nation" not in a
    assert "Bravo Nation" in b and "Alpha Nation" not in b


@pytest.mark.parametrize(
    "host",
    [
        "unknown.localhost",
        "example.org",
        "alpha.localhost.evil.org",
        "n-alpha.localhost",
        "alpha.example.org",
    ],
)
def test_unknown_hosts_get_a_plain_404_naming_no_nation(alpha, host):
    response = Client(HTTP_HOST=host).get("/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Alpha" not in html and "alpha" not in html
    assert "There is no site at this address" in html


def test_malformed_host_is_a_bad_request(world):
    assert Client(HTTP_HOST="bad host!").get("/").status_code == 400


def test_an_unverified_custom_domain_does_not_serve(alpha):
    Domain.objects.create(
        domain="www.alpha-campaign.org",
        tenant=alpha.nation,
        is_custom=True,
        verified=False,
        verification_token="t",
    )
    assert Client(HTTP_HOST="www.alpha-campaign.org").get("/").status_code == 404


def test_a_verified_custom_domain_serves_the_nation(alpha):
    Domain.objects.create(
        domain="www.alpha-campaign.org",
        tenant=alpha.nation,
        is_custom=True,
        verified=True,
        verification_token="t",
    )
    response = Client(HTTP_HOST="WWW.Alpha-Campaign.org").get("/")
    assert response.status_code == 200
    assert "Alpha Nation" in response.content.decode()


def test_the_nation_language_is_the_default_and_a_visitor_can_switch(alpha):
    alpha.nation.language = "fr"
    alpha.nation.save()
    browser = Client(HTTP_HOST="alpha.localhost")
    assert '<html lang="fr">' in browser.get("/").content.decode()
    browser.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert '<html lang="en">' in browser.get("/").content.decode()


def test_a_streamed_response_is_produced_in_the_nations_schema(alpha, bravo):
    """Streaming bodies run after the middleware returns; they must still read the nation."""
    from django.http import StreamingHttpResponse
    from django.test import RequestFactory

    from nations.people.models import Person
    from tenants.middleware import NationRoutingMiddleware

    def view(request):
        return StreamingHttpResponse(p.email for p in Person.objects.order_by("pk").iterator())

    middleware = NationRoutingMiddleware(view)
    response = middleware(RequestFactory(HTTP_HOST=alpha.host).get("/export.csv"))
    body = b"".join(response.streaming_content).decode()
    assert body == alpha.markers[0].email
