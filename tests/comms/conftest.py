"""Helpers for the Communication tests: a real SMTP sink that records messages by Message-ID
and can misbehave on cue, and blasts made through the actions."""

from __future__ import annotations

import threading
from collections import Counter
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django_tenants.utils import schema_context

from nations.comms import actions
from nations.comms.models import Blast, Broadcaster
from nations.people.models import Person, Segment
from tests.conftest import free_port


class Sink:
    """aiosmtpd handler: counts Message-IDs; `reject` maps an address to an SMTP reply for its
    RCPT; `fail_data` answers DATA with a reply; `drop_after` closes the connection after N
    accepted messages (once)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list = []
        self.ids: Counter = Counter()
        self.reject: dict[str, str] = {}
        self.fail_data: str | None = None
        self.drop_after: int | None = None
        self.keep = True

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        reply = self.reject.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.fail_data:
            return self.fail_data
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.ids[str(message["Message-ID"])] += 1
            if self.keep:
                self.messages.append(message)
            if self.drop_after is not None:
                self.drop_after -= 1
                if self.drop_after <= 0:
                    self.drop_after = None
                    server.transport.close()  # the 250 never reaches the client
                    return "250 OK"
        return "250 OK"

    def to(self, address: str) -> list:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.ids.clear()
            self.reject.clear()
            self.fail_data = None
            self.drop_after = None


@pytest.fixture(scope="session")
def _sink_server():
    sink = Sink()
    controller = Controller(
        sink, hostname="127.0.0.1", port=free_port(), server_kwargs={"data_size_limit": 0}
    )
    controller.start()
    yield controller, sink
    controller.stop()


@pytest.fixture
def sink(_sink_server, settings, tmp_path):
    controller, sink = _sink_server
    settings.COMMS_EMAIL_BACKEND = "smtp"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.COMMS_JOURNAL_DIR = tmp_path / "journal"
    sink.clear()
    return sink


def make_people(
    n: int, *, prefix: str = "p", consent: str = "granted", city: str = "Lyon"
) -> list[Person]:
    return Person.objects.bulk_create(
        Person(
            first_name=f"{prefix.title()}{i}",
            email=f"{prefix}{i}@example.org",
            email_consent=consent,
            city=city,
        )
        for i in range(n)
    )


def make_blast(
    *,
    segment: Segment | None = None,
    body: str | None = None,
    subject: str = "Hello {{ person.first_name }}",
    **fields,
) -> Blast:
    broadcaster = Broadcaster.objects.first() or actions.broadcaster_save(
        name="Team", from_email="team@alpha.example", postal_address="1 rue de la Paix, Paris"
    )
    if segment is None:
        segment = Segment.objects.filter(name="Lyon").first() or Segment.objects.create(
            name="Lyon", definition={"conditions": [{"field": "city", "op": "eq", "value": "Lyon"}]}
        )
    return actions.blast_save(
        broadcaster=broadcaster,
        subject=subject,
        body_html=body
        if body is not None
        else '<p>Hi {{ person.first_name | default: "ami" }}, <a href="https://example.org/act">act now</a></p>',
        audience=Blast.Audience.SEGMENT,
        segment=segment,
        **fields,
    )


@pytest.fixture
def in_alpha(alpha):
    with schema_context(alpha.nation.schema_name):
        connection.set_tenant(alpha.nation)
        yield alpha


class NationClient:
    """A test client on a nation's host that puts the test back in the nation's schema after
    each request (the routing middleware returns the connection to public)."""

    def __init__(self, world, user=None) -> None:
        from tests.conftest import client_for

        self.world = world
        self.client = client_for(world.host, user, world.nation if user else None)

    def _back(self, response):
        connection.set_tenant(self.world.nation)
        return response

    def get(self, *args, **kwargs):
        return self._back(self.client.get(*args, **kwargs))

    def post(self, *args, **kwargs):
        return self._back(self.client.post(*args, **kwargs))


class Zone:
    """dnslib resolver answering TXT questions from a dict; long values are split in 255-byte
    strings as real zones do (DKIM keys are longer). Anything else is NXDOMAIN."""

    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}
        self.lock = threading.Lock()

    def resolve(self, request, handler):
        from dnslib import QTYPE, RR, TXT

        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        with self.lock:
            values = list(self.txt.get(name, []))
        if request.q.qtype == QTYPE.TXT and values:
            for value in values:
                chunks = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
        elif not values:
            reply.header.rcode = 3
        return reply


@pytest.fixture(scope="session")
def _dns_server():
    from dnslib.server import DNSServer

    zone = Zone()
    port = free_port()
    server = DNSServer(zone, port=port, address="127.0.0.1")
    server.start_thread()
    yield zone, port
    server.stop()


# --- SMS and voice: the local Twilio server, its callbacks through Django's test client ---------
PLATFORM_SID = "AC" + "1" * 32
PLATFORM_TOKEN = "platform-auth-token"
PLATFORM_FROM = "+33756000001"


def _post_through_django(url: str, params: dict, token: str) -> tuple[int, str]:
    """How the local Twilio server's signed callbacks reach the app in tests: the same URL,
    params and X-Twilio-Signature, handled by the whole Django stack in the test's transaction
    (a live server thread could not see the test's uncommitted rows)."""
    from urllib.parse import urlsplit

    from django.test import Client
    from twilio.request_validator import RequestValidator

    parts = urlsplit(url)
    signature = RequestValidator(token).compute_signature(url, params)
    tenant = getattr(connection, "tenant", None)
    try:
        response = Client().post(
            parts.path, data=params, HTTP_HOST=parts.netloc, HTTP_X_TWILIO_SIGNATURE=signature
        )
    finally:
        if tenant is not None and tenant.schema_name != "public":
            connection.set_tenant(tenant)
    return response.status_code, response.content.decode()


@pytest.fixture(scope="session")
def _twilio_server():
    from config.twilio_server import LocalTwilio

    server = LocalTwilio(post=_post_through_django).start()
    yield server
    server.stop()


@pytest.fixture
def dns(_dns_server, settings):
    """A real DNS server on 127.0.0.1 that the platform's resolver asks (NATIONS_DNS_*)."""
    zone, port = _dns_server
    settings.NATIONS_DNS_RESOLVER = "tenants.dns.SystemResolver"
    settings.NATIONS_DNS_NAMESERVERS = ["127.0.0.1"]
    settings.NATIONS_DNS_PORT = port
    zone.txt.clear()
    return zone


@pytest.fixture
def twilio(_twilio_server, settings, tmp_path):
    """The local Twilio server as the platform's account, the nation on the Campaign plan (SMS
    and voice), quiet hours off (the quiet-hours test sets them)."""
    from billing.limits import _PLAN_CACHE
    from billing.models import Plan, Subscription

    settings.TWILIO_ACCOUNT_SID = PLATFORM_SID
    settings.TWILIO_AUTH_TOKEN = PLATFORM_TOKEN
    settings.TWILIO_API_BASE = _twilio_server.url
    settings.TWILIO_FROM = PLATFORM_FROM
    settings.COMMS_JOURNAL_DIR = tmp_path / "journal"
    _twilio_server.reset()
    _twilio_server.store.accounts.clear()
    _twilio_server.store.accounts[PLATFORM_SID] = PLATFORM_TOKEN
    tenant = connection.tenant
    Subscription.objects.filter(nation__schema_name=tenant.schema_name).update(
        plan=Plan.objects.get(code="campaign")
    )
    _PLAN_CACHE.clear()
    from datetime import time

    from nations.comms.models import TwilioAccount

    TwilioAccount.objects.all().delete()
    TwilioAccount.objects.create(quiet_start=time(0, 0), quiet_end=time(0, 0))
    yield _twilio_server
    _PLAN_CACHE.clear()


def make_phone_people(
    n: int, *, prefix: str = "m", consent: str = "granted", phone_consent=None, start: int = 0
) -> list[Person]:
    """People with French mobile numbers (+33 6 12 00 00 NN) in Lyon."""
    return Person.objects.bulk_create(
        Person(
            first_name=f"{prefix.title()}{i}",
            phone=f"+336120{i:05d}",
            sms_consent=consent,
            phone_consent=phone_consent or consent,
            city="Lyon",
        )
        for i in range(start, start + n)
    )


def make_phone_blast(
    *, channel: str = "sms", text: str = "Bonjour {{ person.first_name }} !", segment=None, **fields
) -> Blast:
    if segment is None:
        segment = Segment.objects.filter(name="Lyon").first() or Segment.objects.create(
            name="Lyon", definition={"conditions": [{"field": "city", "op": "eq", "value": "Lyon"}]}
        )
    return actions.blast_save(
        channel=channel,
        subject="",
        text=text,
        audience=Blast.Audience.SEGMENT,
        segment=segment,
        name=fields.pop("name", f"{channel} blast"),
        **fields,
    )
