"""The local social server: X API v2 (`POST /2/tweets`, `GET /2/users/me`) and a Mastodon
instance (`POST /api/v1/statuses`, `GET /api/v1/accounts/verify_credentials`,
`GET /api/v1/instance`, `GET /api/v2/instance`) on one port.

It is strict where the real services are, so our code meets the same failures:
- X requests must carry a valid OAuth 1.0a HMAC-SHA1 signature. tweepy signs for
  https://api.twitter.com (a transport adapter sends the request here), so the signature is
  recomputed for `x_api_host` + path, with the consumer secret and the token's secret, and a
  nonce is accepted once.
- X refuses a tweet whose text repeats one of the account's tweets (403, as X does).
- Mastodon honours `Idempotency-Key`: the same key from the same token returns the same status.
- `fail(path, status, times)` makes the next requests to a path answer an error (401, 429, 5xx);
  `revoke(token)` makes a token answer 401 from then on.

Every request is recorded (`requests`) with whether its signature verified.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    signature_verified: bool | None = None  # X requests only
    token: str = ""


@dataclass
class Fault:
    path: str
    status: int
    times: int
    after: bool = False  # do the work, then answer the error (the client cannot know it worked)


@dataclass
class LocalSocial:
    host: str = "127.0.0.1"
    port: int = 0
    x_api_host: str = "https://api.twitter.com"
    x_consumers: dict[str, str] = field(default_factory=dict)  # consumer key -> secret
    x_tokens: dict[str, dict] = field(default_factory=dict)  # token -> {secret, id, username}
    mastodon_tokens: dict[str, dict] = field(default_factory=dict)  # token -> {id, username}

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.tweets: list[dict] = []
        self.statuses: list[dict] = []
        self.faults: list[Fault] = []
        self.revoked: set[str] = set()
        self.nonces: set[str] = set()
        self.idempotency: dict[tuple[str, str], dict] = {}
        # 3-legged flow: request token -> {secret, callback, verifier, user (access token)}
        self.request_tokens: dict[str, dict] = {}
        self.last_oauth_params: dict[str, str] = {}
        self.ids = itertools.count(1_700_000_000_000_000_000)
        owner = self

        class Handler(_Handler):
            server_state = owner

        self.httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- set-up, as a test or the dev stack wants it ---------------------------------------
    def add_x_consumer(self, key: str, secret: str) -> None:
        self.x_consumers[key] = secret

    def add_x_user(self, token: str, secret: str, username: str) -> dict:
        user = {"secret": secret, "id": str(next(self.ids)), "username": username}
        self.x_tokens[token] = user
        return user

    def add_mastodon_user(self, token: str, username: str) -> dict:
        user = {"id": str(next(self.ids)), "username": username}
        self.mastodon_tokens[token] = user
        return user

    def revoke(self, token: str) -> None:
        self.revoked.add(token)

    def fail(self, path: str, status: int, times: int = 1, *, after: bool = False) -> None:
        with self.lock:
            self.faults.append(Fault(path, status, times, after))

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.tweets.clear()
            self.statuses.clear()
            self.faults.clear()
            self.revoked.clear()
            self.idempotency.clear()
            self.request_tokens.clear()

    def recorded(self, method: str, path: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    # --- running --------------------------------------------------------------------------
    def start(self) -> LocalSocial:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- the APIs -------------------------------------------------------------------------
    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.path == path and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def verify_oauth1(
        self, method: str, path: str, query: str, headers, body: bytes, *, kind: str = "access"
    ) -> str:
        """The token if the request's OAuth1 signature is valid, else ''. `kind`: "access" (API
        calls, an access token), "request" (access_token exchange, a request token), "none"
        (request_token: no token, signed with the consumer secret alone; returns "-")."""
        auth = headers.get("Authorization", "")
        if not auth.startswith("OAuth "):
            return ""
        params = {k: unquote(v) for k, v in parse_authorization_header(auth)}
        consumer_secret = self.x_consumers.get(params.get("oauth_consumer_key", ""))
        token = params.get("oauth_token", "")
        tokens = {"access": self.x_tokens, "request": self.request_tokens}.get(kind, {})
        user = {"secret": ""} if kind == "none" else tokens.get(token)
        if consumer_secret is None or user is None:
            return ""
        if params.get("oauth_signature_method") != "HMAC-SHA1":
            return ""
        form = ""
        if headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            form = body.decode()
        collected = oauth_signature.collect_parameters(
            uri_query=query,
            body=form,
            headers={"Authorization": auth},
            exclude_oauth_signature=True,
        )
        base = oauth_signature.signature_base_string(
            method.upper(),
            oauth_signature.base_string_uri(self.x_api_host + path),
            oauth_signature.normalize_parameters(collected),
        )
        key = f"{quote(consumer_secret, safe='~')}&{quote(user['secret'], safe='~')}"
        expected = base64.b64encode(
            hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
        ).decode()
        if not _same(expected, params.get("oauth_signature", "")):
            return ""
        nonce = params.get("oauth_nonce", "") + params.get("oauth_timestamp", "")
        with self.lock:
            if nonce in self.nonces:  # a replayed request
                return ""
            self.nonces.add(nonce)
        if kind == "request" and user.get("verifier") != params.get("oauth_verifier"):
            return ""
        self.last_oauth_params = params
        return token or "-"

    def x(self, method: str, path: str, token: str, body: dict) -> tuple[int, dict]:
        user = self.x_tokens[token]
        if method == "GET" and path == "/2/users/me":
            return 200, {
                "data": {"id": user["id"], "name": user["username"], "username": user["username"]}
            }
        if method == "POST" and path == "/2/tweets":
            text = str(body.get("text") or "")
            with self.lock:
                if any(t["author"] == user["id"] and t["text"] == text for t in self.tweets):
                    return 403, {
                        "detail": "You are not allowed to create a Tweet with duplicate content.",
                        "type": "about:blank",
                        "title": "Forbidden",
                        "status": 403,
                    }
                tweet = {"id": str(next(self.ids)), "text": text, "author": user["id"]}
                self.tweets.append(tweet)
            return 201, {
                "data": {"id": tweet["id"], "text": text, "edit_history_tweet_ids": [tweet["id"]]}
            }
        return 404, {"title": "Not Found", "status": 404, "detail": "no such route"}

    def oauth(self, method: str, path: str, query: str, headers, raw: bytes) -> tuple[int, Any]:
        """X's 3-legged OAuth 1.0a: request_token, the authorize page, access_token."""
        args = dict(parse_qsl(query))
        if method == "POST" and path == "/oauth/request_token":
            if not self.verify_oauth1(method, path, query, headers, raw, kind="none"):
                return 401, Form({"error": "Could not authenticate you."})
            token = f"request-{next(self.ids)}"
            self.request_tokens[token] = {
                "secret": f"request-secret-{next(self.ids)}",
                "callback": self.last_oauth_params.get("oauth_callback", ""),
                "verifier": None,
            }
            return 200, Form({
                "oauth_token": token,
                "oauth_token_secret": self.request_tokens[token]["secret"],
                "oauth_callback_confirmed": "true",
            })  # fmt: skip
        if method == "GET" and path == "/oauth/authorize":
            token = args.get("oauth_token", "")
            if token not in self.request_tokens:
                return 400, Page("<p>This authorization link is invalid or has expired.</p>")
            links = "".join(
                f'<li><a href="/oauth/approve?{urlencode({"oauth_token": token, "as": access})}">'
                f"Authorize as @{html.escape(user['username'])}</a></li>"
                for access, user in self.x_tokens.items()
                if access not in self.revoked
            )
            cancel = _with_query(self.request_tokens[token]["callback"], {"denied": token})
            return 200, Page(
                "<h1>Authorize the app to post for you?</h1>"
                f'<ul>{links}</ul><p><a href="{html.escape(cancel)}">Cancel</a></p>'
            )
        if method == "GET" and path == "/oauth/approve":
            pending = self.request_tokens.get(args.get("oauth_token", ""))
            if pending is None or args.get("as") not in self.x_tokens:
                return 400, Page("<p>This authorization link is invalid or has expired.</p>")
            pending["verifier"] = f"verifier-{next(self.ids)}"
            pending["user"] = args["as"]
            return 302, Redirect(_with_query(
                pending["callback"],
                {"oauth_token": args["oauth_token"], "oauth_verifier": pending["verifier"]},
            ))  # fmt: skip
        if method == "POST" and path == "/oauth/access_token":
            token = self.verify_oauth1(method, path, query, headers, raw, kind="request")
            pending = self.request_tokens.pop(token, None) if token else None
            if pending is None:
                return 401, Form({"error": "Invalid request token or verifier."})
            access = pending["user"]
            user = self.x_tokens[access]
            return 200, Form({
                "oauth_token": access, "oauth_token_secret": user["secret"],
                "user_id": user["id"], "screen_name": user["username"],
            })  # fmt: skip
        return 404, Page("<p>Not found</p>")

    def mastodon(self, method: str, path: str, token: str, body: dict, headers) -> tuple[int, Any]:
        if path in ("/api/v1/instance", "/api/v2/instance"):
            return 200, {
                "uri": f"{self.host}:{self.port}",
                "domain": f"{self.host}:{self.port}",
                "title": "Local Mastodon",
                "version": "4.3.0",
                "configuration": {"statuses": {"max_characters": 500}},
            }
        user = self.mastodon_tokens.get(token)
        if user is None or token in self.revoked:
            return 401, {"error": "The access token is invalid"}
        account = {
            "id": user["id"],
            "username": user["username"],
            "acct": user["username"],
            "display_name": user["username"],
            "url": f"{self.url}/@{user['username']}",
        }
        if method == "GET" and path == "/api/v1/accounts/verify_credentials":
            return 200, account
        if method == "POST" and path == "/api/v1/statuses":
            key = headers.get("Idempotency-Key", "")
            with self.lock:
                if key and (token, key) in self.idempotency:
                    return 200, self.idempotency[(token, key)]
                status_id = str(next(self.ids))
                status = {
                    "id": status_id,
                    "content": f"<p>{body.get('status', '')}</p>",
                    "text": body.get("status", ""),
                    "url": f"{self.url}/@{user['username']}/{status_id}",
                    "uri": f"{self.url}/users/{user['username']}/statuses/{status_id}",
                    "account": account,
                    "visibility": body.get("visibility", "public"),
                    "created_at": "2026-01-01T00:00:00.000Z",
                }
                self.statuses.append(status)
                if key:
                    self.idempotency[(token, key)] = status
            return 200, status
        return 404, {"error": "Record not found"}


@dataclass
class Form:
    fields: dict[str, str]


@dataclass
class Page:
    body: str


@dataclass
class Redirect:
    location: str


def _with_query(url: str, args: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(args)}"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class _Handler(BaseHTTPRequestHandler):
    server_state: LocalSocial
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - quiet, requests are recorded
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self, method: str) -> None:
        state = self.server_state
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        raw = self._body()
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            body = json.loads(raw or b"{}")
        else:
            body = dict(parse_qsl(raw.decode() or query))
        headers = {k: v for k, v in self.headers.items()}
        record = Recorded(method, path, headers, body, 0)
        extra: dict[str, str] = {}
        if path.startswith("/oauth/"):
            status, payload = state.oauth(method, path, query, self.headers, raw)
            record.signature_verified = status != 401
        elif path.startswith("/2/"):
            token = state.verify_oauth1(method, path, query, self.headers, raw)
            record.signature_verified = bool(token)
            record.token = token
            fault = state.take_fault(path)
            if not token or token in state.revoked:
                status, payload = (
                    401,
                    {
                        "title": "Unauthorized",
                        "type": "about:blank",
                        "status": 401,
                        "detail": "Unauthorized",
                    },
                )
            else:
                if fault is None or fault.after:
                    status, payload = state.x(method, path, token, body)
                if fault is not None:
                    status = fault.status
                    payload = {"title": "Error", "status": status, "detail": "fault"}
        else:
            auth = self.headers.get("Authorization", "")
            token = auth[7:] if auth.startswith("Bearer ") else ""
            record.token = token
            fault = state.take_fault(path)
            if fault is None or fault.after:
                status, payload = state.mastodon(method, path, token, body, self.headers)
            if fault is not None:
                status, payload = fault.status, {"error": f"fault {fault.status}"}
        if status == 429:
            extra = {"x-rate-limit-reset": "0", "x-rate-limit-remaining": "0"}
        record.status = status
        with state.lock:
            state.requests.append(record)
        ctype = "application/json; charset=utf-8"
        if isinstance(payload, Form):
            data, ctype = urlencode(payload.fields).encode(), "application/x-www-form-urlencoded"
        elif isinstance(payload, Page):
            data, ctype = f"<!doctype html><title>X</title>{payload.body}".encode(), "text/html"
        elif isinstance(payload, Redirect):
            data, extra = b"", {**extra, "Location": payload.location}
        else:
            data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")
