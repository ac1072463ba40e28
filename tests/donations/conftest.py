"""Donations tests: the local Stripe server (in a thread, shared with billing's tests) with a
Connect webhook endpoint; events wait on the server until a test delivers them, signed, to
/donations/webhooks/stripe/ inside the test's transaction."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from tests.billing.conftest import API_KEY, StripeWorld, _stripe_server, stripe  # noqa: F401 - fixtures

CONNECT_SECRET = "whsec_test_connect"
WEBHOOK_URL = "/donations/webhooks/stripe/"


@pytest.fixture(scope="session")
def _connect_endpoint(_stripe_server):  # noqa: F811
    _stripe_server.add_webhook_endpoint(None, CONNECT_SECRET, connect=True)
    return _stripe_server


@dataclass
class ConnectWorld(StripeWorld):
    def connect_deliveries(self) -> list[dict]:
        return [d for d in self.drain() if json.loads(d["payload"]).get("account")]

    def deliver(self, client: Client | None = None) -> list[tuple[str, int, dict]]:
        client = client or Client(HTTP_HOST="localhost")
        results = []
        for delivery in self.connect_deliveries():
            response = post_event(delivery["payload"], delivery["signature"], client)
            body = response.json() if response.status_code == 200 else {}
            results.append((delivery["type"], response.status_code, body))
        return results

    def post(self, path: str, data: dict | None = None) -> dict:
        body = urllib.parse.urlencode(data or {}).encode()
        request = urllib.request.Request(  # noqa: S310
            self.url + path, body, headers={"Authorization": f"Bearer {API_KEY}"}
        )
        with urllib.request.urlopen(request) as response:  # noqa: S310
            return json.loads(response.read())


def post_event(payload: str, signature: str, client: Client | None = None):
    client = client or Client(HTTP_HOST="localhost")
    return client.post(
        WEBHOOK_URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


@pytest.fixture
def connect(stripe, _connect_endpoint, settings) -> ConnectWorld:  # noqa: F811
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = CONNECT_SECRET
    world = ConnectWorld(stripe.server)
    world.drain()
    return world


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    def run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return run


def in_schema(nation):
    return schema_context(nation.schema_name)
