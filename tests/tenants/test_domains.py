"""Custom domains: added in the panel, verified through a real DNS server, then serving."""

from __future__ import annotations

import threading

import pytest
from django.test import Client
from dnslib import QTYPE, RR, TXT
from dnslib.server import BaseResolver, DNSServer

from tenants.actions import domain_verify, verification_record_name, verification_record_value
from tenants.dns import SystemResolver
from tenants.models import Domain
from tests.conftest import client_for, free_port

pytestmark = pytest.mark.django_db


class ZoneResolver(BaseResolver):
    """Answers TXT questions from a dict; anything else is NXDOMAIN."""

    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}
        self.lock = threading.Lock()

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        with self.lock:
            values = list(self.txt.get(name, []))
        if request.q.qtype == QTYPE.TXT and values:
            for value in values:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=60))
        elif not values:
            reply.header.rcode = 3  # NXDOMAIN
        return reply


@pytest.fixture(scope="module")
def dns_zone():
    zone = ZoneResolver()
    port = free_port()
    server = DNSServer(zone, port=port, address="127.0.0.1")
    server.start_thread()
    yield zone, port
    server.stop()


@pytest.fixture
def dns(dns_zone, settings):
    zone, port = dns_zone
    settings.NATIONS_DNS_NAMESERVERS = ["127.0.0.1"]
    settings.NATIONS_DNS_PORT = port
    zone.txt.clear()
    return zone


def test_owner_adds_verifies_and_serves_a_custom_domain(alpha, dns):
    panel = client_for(alpha.host, alpha.owner, alpha.nation)
    response = panel.post(
        "/panel/settings/domains/", {"hostname": "https://WWW.Alpha-Campaign.org/"}, follow=True
    )
    assert response.status_code == 200
    domain = Domain.objects.get(domain="www.alpha-campaign.org")
    assert domain.tenant_id == alpha.nation.pk and not domain.verified
    html = response.content.decode()
    assert verification_record_name(domain) in html and verification_record_value(domain) in html
    assert Client(HTTP_HOST="www.alpha-campaign.org").get("/").status_code == 404

    # Not there yet: a clear message, still unverified.
    response = panel.post(f"/panel/settings/domains/{domain.pk}/verify/", follow=True)
    assert "not found yet" in response.content.decode()
    domain.refresh_from_db()
    assert not domain.verified

    dns.txt[verification_record_name(domain)] = ["unrelated", verification_record_value(domain)]
    response = panel.post(f"/panel/settings/domains/{domain.pk}/verify/", follow=True)
    assert "is verified" in response.content.decode()
    domain.refresh_from_db()
    assert domain.verified
    site = Client(HTTP_HOST="www.alpha-campaign.org").get("/")
    assert site.status_code == 200 and "Alpha Nation" in site.content.decode()


def test_a_wrong_token_does_not_verify(alpha, dns):
    domain = Domain.objects.create(
        domain="alpha.org", tenant=alpha.nation, is_custom=True, verification_token="right-token"
    )
    dns.txt["_nations-verify.alpha.org"] = ["nations-verify=wrong-token"]
    assert domain_verify(domain=domain, resolver=SystemResolver()) is False


def test_a_dead_resolver_is_reported_not_crashed(alpha, settings):
    settings.NATIONS_DNS_NAMESERVERS = ["127.0.0.1"]
    settings.NATIONS_DNS_PORT = free_port()  # nothing listens there
    domain = Domain.objects.create(
        domain="alpha.org", tenant=alpha.nation, is_custom=True, verification_token="t"
    )
    assert domain_verify(domain=domain, resolver=SystemResolver(timeout=0.5)) is False
    domain.refresh_from_db()
    assert "DNS lookup failed" in domain.last_check_error


@pytest.mark.parametrize(
    ("hostname", "message"),
    [
        ("not a domain", "not a valid domain"),
        ("localhost", "not a valid domain"),
        ("evil.localhost", "given by the platform"),
        ("bravo.org", "already registered"),
    ],
)
def test_bad_domains_are_refused(alpha, bravo, hostname, message):
    Domain.objects.create(domain="bravo.org", tenant=bravo.nation, is_custom=True, verified=True)
    panel = client_for(alpha.host, alpha.owner, alpha.nation)
    response = panel.post("/panel/settings/domains/", {"hostname": hostname})
    assert message in " ".join(response.context["form"].errors["hostname"])


def test_a_nation_cannot_verify_or_remove_another_nations_domain(alpha, bravo, dns):
    theirs = Domain.objects.create(
        domain="bravo.org", tenant=bravo.nation, is_custom=True, verification_token="t"
    )
    panel = client_for(alpha.host, alpha.owner, alpha.nation)
    for action in ("verify", "remove", "primary"):
        assert panel.post(f"/panel/settings/domains/{theirs.pk}/{action}/").status_code == 404
    assert Domain.objects.filter(pk=theirs.pk, verified=False).exists()


def test_staff_without_settings_permission_cannot_add_domains(alpha):
    panel = client_for(alpha.host, alpha.staff, alpha.nation)
    assert panel.post("/panel/settings/domains/", {"hostname": "x.org"}).status_code == 403
    assert not Domain.objects.filter(domain="x.org").exists()
