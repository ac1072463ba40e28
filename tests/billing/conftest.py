"""Billing tests run against the local Stripe server (config/stripe_server) in a thread, through
the official SDK. Webhooks wait on the server until a test delivers them (`stripe.deliver()`),
so they reach the app inside the test's transaction, signed exactly as Stripe signs them."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pytest
from django.test import Client, override_settings

from config.stripe_server import LocalStripe

WEBHOOK_SECRET = "whsec_test_billing"
API_KEY = "sk_test_nations_billing"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


@dataclass
class StripeWorld:
    server: LocalStripe

    @property
    def url(self) -> str:
        return self.server.url

    def _post(self, path: str, data: dict | None = None) -> dict:
        body = urllib.parse.urlencode(data or {}).encode()
        with urllib.request.urlopen(self.url + path, body) as response:  # noqa: S310
            return json.loads(response.read())

    def now(self) -> int:
        with urllib.request.urlopen(self.url + "/_local/clock") as response:  # noqa: S310
            return json.loads(response.read())["now"]

    def advance(self, *, days: float = 0, seconds: int = 0) -> int:
        return self._post("/_local/clock/advance", {"seconds": int(days * 86400) + seconds})["now"]

    def drain(self) -> list[dict]:
        return self._post("/_local/webhooks/drain")["data"]

    def deliver(self, client: Client | None = None) -> list[tuple[str, int, dict]]:
        """POST every pending event to our webhook, in order; (type, status, body) each."""
        client = client or Client(HTTP_HOST="localhost")
        results = []
        for delivery in self.drain():
            response = client.post(
                "/billing/webhooks/stripe/",
                delivery["payload"],
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=delivery["signature"],
            )
            body = response.json() if response.status_code == 200 else {}
            results.append((delivery["type"], response.status_code, body))
        return results

    def submit(self, url: str, data: dict) -> tuple[int, str]:
        """Submit a hosted page's form (Checkout, portal) like a browser: (status, Location/body)."""
        try:
            response = _opener.open(url, urllib.parse.urlencode(data).encode())  # noqa: S310
            return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            if error.code in (301, 302, 303):
                return error.code, error.headers["Location"]
            return error.code, error.read().decode()

    def pay(self, checkout_url: str, card: str = "4242424242424242", email="owner@example.org"):
        return self.submit(checkout_url, {"email": email, "card_number": card, "exp": "12 / 34"})


@pytest.fixture(scope="session")
def _stripe_server(django_db_setup, django_db_blocker):
    server = LocalStripe().start()
    server.add_webhook_endpoint(None, WEBHOOK_SECRET)
    with override_settings(STRIPE_SECRET_KEY=API_KEY, STRIPE_API_BASE=server.url):
        from billing.actions import catalogue_sync

        with django_db_blocker.unblock():
            catalogue_sync()  # committed: the plans keep these price ids for the session
    yield server
    server.stop()


@pytest.fixture
def stripe(_stripe_server, settings) -> StripeWorld:
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_API_BASE = _stripe_server.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    world = StripeWorld(_stripe_server)
    world.drain()  # events of earlier tests are not this test's
    from billing.limits import _PLAN_CACHE

    _PLAN_CACHE.clear()
    return world


@pytest.fixture(autouse=True)
def _fresh_plan_cache():
    from billing.limits import _PLAN_CACHE

    _PLAN_CACHE.clear()
    yield
    _PLAN_CACHE.clear()
