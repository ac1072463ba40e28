"""HTTP for the local Stripe server: routing, Stripe's form encoding, auth, Idempotency-Key,
the Stripe-Account header, `expand[]`, list envelopes, errors in Stripe's shape.

A resource module registers its endpoints with `@route(method, pattern)`; the handler gets a
`Request` (store, params, account, ...) and the pattern's named groups, and returns a dict
(JSON) or an `Html`/`Redirect` for the hosted pages.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .store import Store, StripeError, public

Handler = Callable[..., Any]
ROUTES: list[tuple[str, re.Pattern, Handler]] = []


def route(method: str, pattern: str):
    def decorator(func: Handler) -> Handler:
        ROUTES.append((method, re.compile(f"^{pattern}$"), func))
        return func

    return decorator


@dataclass
class Html:
    body: str
    status: int = 200


@dataclass
class Redirect:
    location: str


@dataclass
class Request:
    store: Store
    method: str
    path: str
    params: dict[str, Any]
    account: str | None
    idempotency_key: str | None
    request_id: str

    @property
    def event_request(self) -> dict[str, Any]:
        return {"id": self.request_id, "idempotency_key": self.idempotency_key}


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket encoding (a[b][0][c]=v, a[]=v) to nested dicts; numeric keys -> lists."""
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = re.match(r"^([^\[]+)((?:\[[^\]]*\])*)$", raw_key)
        if not match:
            continue
        keys = [match.group(1)] + re.findall(r"\[([^\]]*)\]", match.group(2))
        node = root
        for i, key in enumerate(keys):
            if i == len(keys) - 2 and keys[-1] == "":
                node.setdefault(key, []).append(value)
                break
            if i == len(keys) - 1:
                node[key] = value
            else:
                node = node.setdefault(key, {})
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    elif isinstance(node, list):
        return [_lists(v) for v in node]
    return node


def expand(store: Store, obj: Any, paths: list[str], account: str | None) -> Any:
    for path in paths:
        obj = _expand_one(store, obj, path.split("."), account)
    return obj


def _expand_one(store: Store, obj: Any, parts: list[str], account: str | None) -> Any:
    if not parts or not isinstance(obj, dict):
        return obj
    head, rest = parts[0], parts[1:]
    if head == "data" and obj.get("object") == "list":
        obj["data"] = [_expand_one(store, o, rest, account) for o in obj["data"]]
        return obj
    value = obj.get(head)
    if isinstance(value, str) and value in store.objects:
        target = store.objects[value]
        if target.get("_account") == account:
            value = public(copy.deepcopy(target))
    if isinstance(value, list):
        value = [
            public(copy.deepcopy(store.objects[v]))
            if isinstance(v, str) and v in store.objects
            else v
            for v in value
        ]
    obj[head] = _expand_one(store, value, rest, account) if rest else value
    return obj


def list_response(req: Request, items: list[dict[str, Any]], url: str) -> dict[str, Any]:
    limit = min(int(req.params.get("limit", 10)), 100)
    after = req.params.get("starting_after")
    if after:
        ids = [o["id"] for o in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    page = items[:limit]
    return {
        "object": "list",
        "data": [public(copy.deepcopy(o)) for o in page],
        "has_more": len(items) > limit,
        "url": url,
    }


def make_handler(store: Store, api_keys: set[str] | None):
    class StripeHandler(BaseHTTPRequestHandler):
        server_version = "LocalStripe/1.0"

        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            self._handle("GET")

        def do_POST(self):  # noqa: N802
            self._handle("POST")

        def do_DELETE(self):  # noqa: N802
            self._handle("DELETE")

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            pairs += parse_qsl(body, keep_blank_values=True)
            params = decode_form(pairs)
            request_id = store.new_id("req", 14)
            api = parts.path.startswith("/v1/")
            try:
                handler, groups = self._resolve(method, parts.path)
                key = self._authenticate() if api else ""
                account = self.headers.get("Stripe-Account") if api else None
                idem = self.headers.get("Idempotency-Key") if method != "GET" else None
                req = Request(store, method, parts.path, params, account, idem, request_id)
                with store.lock:
                    if idem and api:
                        replay = self._replay(key, account, idem, method, parts.path, pairs)
                        if replay is not None:
                            return self._send(replay[0], replay[1], {"Idempotent-Replayed": "true"})
                    try:
                        result = handler(req, **groups)
                        status = 200
                    except StripeError as error:
                        result, status = {"error": error.body}, error.status
                    if isinstance(result, dict) and "error" not in result:
                        result = expand(
                            store, public(copy.deepcopy(result)), _expands(params), account
                        )
                    if idem and api and isinstance(result, dict):
                        fingerprint = _fingerprint(method, parts.path, pairs)
                        store.idempotency[(key, account or "", idem)] = (
                            fingerprint,
                            status,
                            json.dumps(result),
                        )
                    if method != "GET":
                        store.save()
            except StripeError as error:
                return self._send(error.status, json.dumps({"error": error.body}))
            if isinstance(result, Html):
                return self._send(
                    result.status, result.body, content_type="text/html; charset=utf-8"
                )
            if isinstance(result, Redirect):
                return self._send(303, "", {"Location": result.location})
            if isinstance(result, bytes):
                return self._send(200, result, content_type="application/pdf")
            self._send(status, json.dumps(result, indent=2), {"Request-Id": request_id})

        def _resolve(self, method: str, path: str):
            path_matched = False
            for m, pattern, handler in ROUTES:
                match = pattern.match(path)
                if match:
                    path_matched = True
                    if m == method:
                        return handler, match.groupdict()
            if path_matched:
                raise StripeError(f"Unrecognized request URL ({method}: {path}).", status=404)
            raise StripeError(
                f"Unrecognized request URL ({method}: {path}). The local Stripe server implements "
                "only the endpoints Nations uses.",
                status=404,
            )

        def _authenticate(self) -> str:
            auth = self.headers.get("Authorization", "")
            key = auth[7:] if auth.startswith("Bearer ") else ""
            if not key:
                raise StripeError(
                    "You did not provide an API key.", status=401, type="invalid_request_error"
                )
            if key.startswith(("sk_live_", "rk_live_")):
                raise StripeError("The local Stripe server refuses live keys.", status=401)
            if api_keys and key not in api_keys:
                raise StripeError(f"Invalid API Key provided: {key[:12]}****", status=401)
            return key

        def _replay(self, key, account, idem, method, path, pairs):
            seen = store.idempotency.get((key, account or "", idem))
            if seen is None:
                return None
            if seen[0] != _fingerprint(method, path, pairs):
                raise StripeError(
                    "Keys for idempotent requests can only be used with the same parameters they "
                    f"were first used with. Try using a key other than '{idem}' if you meant to "
                    "execute a different request.",
                    status=400,
                    type="idempotency_error",
                )
            return seen[1], seen[2]

        def _send(self, status: int, body, headers=None, content_type="application/json") -> None:
            data = body if isinstance(body, bytes) else body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Stripe-Version", "2026-10-28.endive")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return StripeHandler


def _expands(params: dict[str, Any]) -> list[str]:
    value = params.get("expand") or []
    return value if isinstance(value, list) else [value]


def _fingerprint(method: str, path: str, pairs: list[tuple[str, str]]) -> str:
    canonical = json.dumps([method, path, sorted(pairs)])
    return hashlib.sha256(canonical.encode()).hexdigest()


class LocalStripe:
    """The server on 127.0.0.1 in a thread (tests) or in its own process (`make run`)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file=None,
        api_keys: set[str] | None = None,
        public_url: str | None = None,
    ) -> None:
        from . import billing, connect, pages  # noqa: F401 - registers their routes

        self.store = Store(state_file=state_file)
        self.httpd = ThreadingHTTPServer((host, port), make_handler(self.store, api_keys))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = public_url or f"http://{host}:{self.port}"
        self.store.base_url = self.url
        self.thread: threading.Thread | None = None

    def add_webhook_endpoint(self, url: str | None, secret: str, *, connect: bool = False) -> None:
        from .store import WebhookEndpoint

        with self.store.lock:
            self.store.endpoints.append(
                WebhookEndpoint(self.store.new_id("we"), url, secret, connect=connect)
            )
        if url:
            self.store.start_sender()

    def start(self) -> LocalStripe:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
