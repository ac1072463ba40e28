"""Sending-domain verification against a real DNS server: per-record status (SPF include,
DKIM key at selector._domainkey, DMARC advised) on the sender's page, re-checked on demand."""

from __future__ import annotations

from nations.comms.models import Broadcaster

from .conftest import NationClient, make_blast


def _status(html: str, purpose: str) -> str:
    block = html.split(f'data-purpose="{purpose}"', 1)[1].split('class="dns-record"', 1)[0]
    for label in ("Found", "Not found", "Different value", "The DNS did not answer"):
        if f">{label}<" in block:
            return label
    return ""


def test_the_sender_page_shows_each_record_and_verifies_the_domain(in_alpha, dns):
    make_blast()
    sender = Broadcaster.objects.get()
    panel = NationClient(in_alpha, in_alpha.owner)
    check = f"/panel/communication/senders/{sender.pk}/check/"
    page = f"/panel/communication/senders/{sender.pk}/"

    html = panel.post(check, follow=True).content.decode()
    assert "Not verified yet" in html
    assert [_status(html, p) for p in ("SPF", "DKIM", "DMARC")] == ["Not found"] * 3
    sender.refresh_from_db()
    assert sender.domain_verified_at is None

    # A wrong SPF (no include of ours) and the right DKIM key: still not verified.
    dns.txt["alpha.example"] = ["google-site-verification=x", "v=spf1 include:_spf.other ~all"]
    dns.txt["nations._domainkey.alpha.example"] = [f"v=DKIM1; k=rsa; p={sender.dkim_public_key}"]
    html = panel.post(check, follow=True).content.decode()
    assert [_status(html, p) for p in ("SPF", "DKIM")] == ["Different value", "Found"]
    assert "include:_spf.other" in html  # what is published now, beside what should be
    sender.refresh_from_db()
    assert sender.domain_verified_at is None and "SPF" in sender.domain_check_error

    from django.conf import settings

    dns.txt["alpha.example"] = [f"v=spf1 mx {settings.COMMS_SPF_INCLUDE} ~all"]
    html = panel.post(check, follow=True).content.decode()
    assert "alpha.example is verified" in html
    assert [_status(html, p) for p in ("SPF", "DKIM", "DMARC")] == ["Found", "Found", "Not found"]
    sender.refresh_from_db()
    assert sender.domain_verified_at is not None

    dns.txt["_dmarc.alpha.example"] = ["v=DMARC1; p=quarantine"]
    panel.post(check)
    assert _status(panel.get(page).content.decode(), "DMARC") == "Found"

    # The key is rotated away at the DNS host: checking again un-verifies the domain.
    dns.txt["nations._domainkey.alpha.example"] = ["v=DKIM1; k=rsa; p=MIIBIjANBgkqAnotours"]
    html = panel.post(check, follow=True).content.decode()
    assert _status(html, "DKIM") == "Different value"
    sender.refresh_from_db()
    assert sender.domain_verified_at is None


def test_a_dns_server_that_does_not_answer_is_said_so(in_alpha, settings):
    from tests.conftest import free_port

    make_blast()
    sender = Broadcaster.objects.get()
    settings.NATIONS_DNS_NAMESERVERS = ["127.0.0.1"]
    settings.NATIONS_DNS_PORT = free_port()  # nobody listens
    panel = NationClient(in_alpha, in_alpha.owner)
    html = panel.post(f"/panel/communication/senders/{sender.pk}/check/", follow=True)
    assert _status(html.content.decode(), "SPF") == "The DNS did not answer"


def test_a_nation_cannot_check_or_see_another_nations_sender(in_alpha, bravo, dns):
    from django.db import connection
    from django_tenants.utils import schema_context

    from nations.comms import actions
    from tests.conftest import client_for

    make_blast()
    with schema_context(bravo.nation.schema_name):
        connection.set_tenant(bravo.nation)
        for i in range(3):  # ids that alpha does not have
            theirs = actions.broadcaster_save(name=f"Bravo {i}", from_email=f"b{i}@bravo.example")
    connection.set_tenant(in_alpha.nation)
    assert not Broadcaster.objects.filter(pk=theirs.pk).exists()
    panel = NationClient(in_alpha, in_alpha.owner)
    assert panel.post(f"/panel/communication/senders/{theirs.pk}/check/").status_code == 404
    assert panel.get(f"/panel/communication/senders/{theirs.pk}/").status_code == 404
    # Alpha's session is worth nothing on bravo's host.
    stranger = client_for(bravo.host)
    stranger.cookies = panel.client.cookies
    response = stranger.post(f"/panel/communication/senders/{theirs.pk}/check/")
    assert response.status_code in (302, 403)
    response = stranger.get("/panel/communication/sending/")
    assert response.status_code in (302, 403)
    with schema_context(bravo.nation.schema_name):
        assert Broadcaster.objects.get(pk=theirs.pk).dns_status == {}
