"""The local Stripe server's memory: objects by id, its clock, its events and their delivery.

Objects are plain dicts in Stripe's JSON shape. Keys starting with "_" are private to the server
(a card's behaviour, the connected account an object belongs to) and never leave it. One
re-entrant lock serialises every request, clock advance and delivery hand-off: the server is for
tests and demos, so simple and exact beats fast.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import queue
import secrets
import string
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("stripe_server")

API_VERSION = "2026-10-28.endive"  # what stripe-python 16.1.0 pins
_ALPHABET = string.ascii_letters + string.digits


class StripeError(Exception):
    """An error answered in Stripe's shape: {"error": {"type", "message", "param", "code"}}."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",  # noqa: A002 - Stripe's field name
        param: str | None = None,
        code: str | None = None,
        decline_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"type": type, "message": message}
        if param:
            self.body["param"] = param
        if code:
            self.body["code"] = code
        if decline_code:
            self.body["decline_code"] = decline_code


def missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(
        f"No such {kind}: '{object_id}'", status=404, param=param, code="resource_missing"
    )


def public(obj: Any) -> Any:
    """A deep copy without the server's private keys."""
    if isinstance(obj, dict):
        return {k: public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [public(v) for v in obj]
    return obj


@dataclass
class WebhookEndpoint:
    id: str
    url: str | None  # None: events wait in `pending` for a test to drain them
    secret: str
    enabled_events: list[str] = field(default_factory=lambda: ["*"])
    # A Connect endpoint receives the events of connected accounts (with `account`), an account
    # endpoint those of the platform itself, as on Stripe.
    connect: bool = False


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header, exactly as Stripe computes it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class Store:
    def __init__(self, *, base_url: str = "", state_file: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.base_url = base_url
        self.objects: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[tuple[str, str, str], tuple[str, int, str]] = {}
        self.offset = 0  # seconds the clock was advanced by
        self.endpoints: list[WebhookEndpoint] = []
        self.pending: list[dict[str, Any]] = []  # deliveries for endpoints without a URL
        self.counter = 0
        self.state_file = state_file
        self._outbox: queue.Queue = queue.Queue()
        self._sender: threading.Thread | None = None
        if state_file and state_file.exists():
            self.load()

    # --- ids and time ----------------------------------------------------------------------
    def new_id(self, prefix: str, length: int = 24) -> str:
        return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))

    def now(self) -> int:
        return int(time.time()) + self.offset

    # --- objects ---------------------------------------------------------------------------
    def put(self, obj: dict[str, Any], account: str | None = None) -> dict[str, Any]:
        obj.setdefault("_account", account)
        self.objects[obj["id"]] = obj
        return obj

    def get(
        self, kind: str, object_id: str, account: str | None = None, label: str | None = None
    ) -> dict[str, Any]:
        obj = self.objects.get(object_id or "")
        if obj is None or obj["object"] != kind or obj.get("_account") != account:
            raise missing(label or kind, object_id)
        return obj

    def find(self, kind: str, account: str | None = None, **where: Any) -> list[dict[str, Any]]:
        found = [
            o
            for o in self.objects.values()
            if o["object"] == kind
            and o.get("_account") == account
            and all(o.get(k) == v for k, v in where.items())
        ]
        return sorted(found, key=lambda o: (o.get("created", 0), o.get("_seq", 0)), reverse=True)

    def seq(self) -> int:
        self.counter += 1
        return self.counter

    # --- events and webhooks ---------------------------------------------------------------
    def emit(
        self,
        type_: str,
        obj: dict[str, Any],
        *,
        account: str | None = None,
        previous: dict[str, Any] | None = None,
        request: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": {"object": public(copy.deepcopy(obj))},
            "livemode": False,
            "pending_webhooks": len(self.endpoints),
            "request": request or {"id": None, "idempotency_key": None},
            "type": type_,
            "_seq": self.seq(),
        }
        if previous:
            event["data"]["previous_attributes"] = public(copy.deepcopy(previous))
        if account:
            event["account"] = account
        self.put(event, account)
        for endpoint in self.endpoints:
            if endpoint.connect != bool(account):
                continue
            if "*" in endpoint.enabled_events or type_ in endpoint.enabled_events:
                payload = json.dumps(public(event), indent=2)
                delivery = {"event": event["id"], "type": type_, "payload": payload}
                if endpoint.url is None:
                    self.pending.append({**delivery, "secret": endpoint.secret})
                else:
                    self._outbox.put((endpoint, delivery))
        return event

    def drain(self) -> list[dict[str, Any]]:
        """Pending deliveries, each signed now: {"event", "type", "payload", "signature"}."""
        taken, self.pending = self.pending, []
        return [
            {
                "event": d["event"],
                "type": d["type"],
                "payload": d["payload"],
                "signature": sign(d["payload"], d["secret"]),
            }
            for d in taken
        ]

    def start_sender(self) -> None:
        if self._sender is None:
            self._sender = threading.Thread(target=self._send_loop, daemon=True, name="webhooks")
            self._sender.start()

    def _send_loop(self) -> None:
        while True:
            endpoint, delivery = self._outbox.get()
            for attempt in range(5):
                body = delivery["payload"].encode()
                req = urllib.request.Request(  # noqa: S310 - the configured endpoint
                    endpoint.url,
                    data=body,
                    headers={
                        "Content-Type": "application/json; charset=utf-8",
                        "Stripe-Signature": sign(delivery["payload"], endpoint.secret),
                        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                    },
                    method="POST",
                )
                try:
                    with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310
                        if 200 <= response.status < 300:
                            break
                except Exception as exc:  # a down endpoint is retried, like Stripe does
                    log.warning("webhook %s to %s failed: %s", delivery["type"], endpoint.url, exc)
                time.sleep(0.5 * 2**attempt)

    # --- persistence (make run keeps its objects across restarts) --------------------------
    def save(self) -> None:
        if not self.state_file:
            return
        data = {"objects": self.objects, "offset": self.offset, "counter": self.counter}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.state_file)

    def load(self) -> None:
        data = json.loads(self.state_file.read_text())
        self.objects = data["objects"]
        self.offset = data.get("offset", 0)
        self.counter = data.get("counter", 0)
