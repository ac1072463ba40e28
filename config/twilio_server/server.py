"""HTTP for the local Twilio server, its store, and the signed callbacks it sends back."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from xml.etree import ElementTree

from twilio.request_validator import RequestValidator

API = "/2010-04-01"
GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)

# (status, posted params) -> (status code, body) — how a callback reaches our app
Post = Callable[[str, dict[str, str], str], tuple[int, str]]


def post_http(url: str, params: dict[str, str], token: str) -> tuple[int, str]:
    """POST form-encoded params to `url`, signed like Twilio does."""
    signature = RequestValidator(token).compute_signature(url, params)
    parts = urlsplit(url)
    target = url
    if (parts.hostname or "").endswith(".localhost"):
        # <nation>.localhost is loopback in browsers but not for every resolver: connect to
        # 127.0.0.1 and name the host in the Host header (the signed URL stays the same).
        target = parts._replace(netloc=f"127.0.0.1:{parts.port or 80}").geturl()
    request = urllib.request.Request(  # noqa: S310 - http(s) to our own app
        target,
        data=urlencode(params).encode(),
        headers={
            "Host": parts.netloc,
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own app
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


def segments(body: str) -> int:
    if all(c in GSM for c in body):
        units = len(body) + sum(1 for c in body if c in "^{}\\[~]|€")
        return 1 if units <= 160 else -(-units // 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


class TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    account: str
    status: int = 0


@dataclass
class Store:
    accounts: dict[str, str] = field(default_factory=dict)  # sid -> auth token
    open: bool = True  # accept (and remember) any credentials
    messages: dict[str, dict] = field(default_factory=dict)
    calls: dict[str, dict] = field(default_factory=dict)
    numbers: dict[str, dict] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    faults: list[int] = field(default_factory=list)  # statuses the next creates answer
    callbacks: list[tuple[str, dict, int]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def creates(self, kind: str = "Messages") -> list[Recorded]:
        with self.lock:
            return [
                r
                for r in self.requests
                if r.method == "POST" and r.path.endswith(f"/{kind}.json") and r.status == 201
            ]


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _now() -> str:
    return formatdate(usegmt=True)


class LocalTwilio:
    """The server on 127.0.0.1 in a thread (tests) or in its own process (`make run`)."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, auto: bool = False, post: Post = post_http
    ) -> None:
        self.store = Store()
        self.auto = auto
        self.post = post
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LocalTwilio:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        with self.store.lock:
            self.store.messages.clear()
            self.store.calls.clear()
            self.store.requests.clear()
            self.store.faults.clear()
            self.store.callbacks.clear()

    def fail_next(self, status: int, times: int = 1) -> None:
        """The next `times` creates (messages or calls) answer `status` (429, 500, 503…)."""
        with self.store.lock:
            self.store.faults += [status] * times

    def add_number(self, account: str, number: str, *, sms_url: str = "") -> dict:
        with self.store.lock:
            sid = _sid("PN")
            self.store.numbers[sid] = {
                "sid": sid,
                "account_sid": account,
                "phone_number": number,
                "friendly_name": number,
                "sms_url": sms_url,
                "sms_method": "POST",
                "voice_url": "",
                "capabilities": {"sms": True, "voice": True, "mms": False, "fax": False},
                "date_created": _now(),
                "date_updated": _now(),
                "uri": f"{API}/Accounts/{account}/IncomingPhoneNumbers/{sid}.json",
            }
            return self.store.numbers[sid]

    # --- callbacks (what Twilio does after accepting a request) -----------------------------
    def _callback(self, account: str, url: str, params: dict[str, str]) -> tuple[int, str]:
        token = self.store.accounts.get(account, "")
        status, body = self.post(url, params, token)
        with self.store.lock:
            self.store.callbacks.append((url, params, status))
        return status, body

    def message_status(self, sid: str, status: str, *, error_code: str = "") -> int:
        """Post a message status callback (sent, delivered, undelivered, failed)."""
        with self.store.lock:
            message = self.store.messages[sid]
            message["status"] = status
            message["error_code"] = int(error_code) if error_code else None
        params = {
            "AccountSid": message["account_sid"],
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message["to"],
            "From": message["from"],
            "ApiVersion": "2010-04-01",
        }
        if error_code:
            params["ErrorCode"] = error_code
        if not message.get("_callback"):
            return 0
        return self._callback(message["account_sid"], message["_callback"], params)[0]

    def _call_params(self, call: dict, **extra: str) -> dict[str, str]:
        return {
            "AccountSid": call["account_sid"],
            "CallSid": call["sid"],
            "From": call["from"],
            "To": call["to"],
            "Direction": "outbound-api",
            "ApiVersion": "2010-04-01",
            **extra,
        }

    def answer_call(self, sid: str, *, answered_by: str = "human") -> str:
        """The callee picks up (or voicemail does): fetch the call's TwiML, with AnsweredBy."""
        call = self.store.calls[sid]
        call["status"] = "in-progress"
        call["answered_by"] = answered_by
        params = self._call_params(call, CallStatus="in-progress", AnsweredBy=answered_by)
        status, body = self._callback(call["account_sid"], call["_url"], params)
        call["_twiml"] = body
        return body

    def press(self, sid: str, digits: str) -> str:
        """The callee presses keys during the <Gather> of the last TwiML: post to its action."""
        call = self.store.calls[sid]
        root = ElementTree.fromstring(call["_twiml"])  # noqa: S314 - TwiML from our own app
        gather = root.find("Gather")
        if gather is None or not gather.get("action"):
            raise ValueError("the call's TwiML has no <Gather action=…>")
        params = self._call_params(call, CallStatus="in-progress", Digits=digits)
        _status, body = self._callback(call["account_sid"], gather.get("action"), params)
        call["_twiml"] = body
        return body

    def finish_call(self, sid: str, status: str = "completed", *, duration: int = 30) -> int:
        """The call ends: completed, busy, no-answer, failed or canceled."""
        call = self.store.calls[sid]
        call["status"] = status
        if not call.get("_callback"):
            return 0
        extra = {
            "CallStatus": status,
            "CallDuration": str(duration if status == "completed" else 0),
        }
        if call.get("answered_by"):
            extra["AnsweredBy"] = call["answered_by"]
        return self._callback(
            call["account_sid"], call["_callback"], self._call_params(call, **extra)
        )[0]

    def inbound_sms(
        self, *, to: str, from_: str, body: str, url: str = "", account: str = ""
    ) -> tuple[int, str]:
        """Someone texts one of the account's numbers: post to the number's SmsUrl (or `url`)."""
        number = next((n for n in self.store.numbers.values() if n["phone_number"] == to), None)
        account = account or (number["account_sid"] if number else next(iter(self.store.accounts)))
        target = url or (number or {}).get("sms_url", "")
        sid = _sid("SM")
        params = {
            "AccountSid": account,
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": str(segments(body)),
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        return self._callback(account, target, params)

    def _auto_message(self, sid: str) -> None:
        time.sleep(0.5)
        self.message_status(sid, "sent")
        time.sleep(0.5)
        self.message_status(sid, "delivered")

    def _auto_call(self, sid: str) -> None:
        time.sleep(1)
        self.answer_call(sid, answered_by="human")
        time.sleep(1)
        self.finish_call(sid, "completed")

    # --- REST ------------------------------------------------------------------------------
    def handle(self, method: str, path: str, params: dict[str, str], account: str) -> dict:
        match = re.match(rf"^{API}/Accounts/(AC\w+)/(\w+)(?:/(\w+))?\.json$", path)
        if not match or match.group(1) != account:
            raise TwilioError(404, 20404, f"The requested resource {path} was not found")
        resource, sid = match.group(2), match.group(3)
        if method == "POST" and not sid and resource in ("Messages", "Calls"):
            with self.store.lock:
                if self.store.faults:
                    status = self.store.faults.pop(0)
                    code = 20429 if status == 429 else 20500
                    raise TwilioError(
                        status,
                        code,
                        "Too Many Requests" if status == 429 else "Internal Server Error",
                    )
        if resource == "Messages":
            return self._messages(method, sid, params, account)
        if resource == "Calls":
            return self._calls(method, sid, params, account)
        if resource == "IncomingPhoneNumbers":
            return self._numbers(method, sid, params, account)
        raise TwilioError(404, 20404, f"The requested resource {path} was not found")

    def _messages(self, method: str, sid: str | None, params: dict, account: str) -> dict:
        if method == "POST" and not sid:
            to, body = params.get("To", ""), params.get("Body", "")
            sender = params.get("From") or params.get("MessagingServiceSid", "")
            if not re.fullmatch(r"\+[1-9]\d{6,14}", to):
                raise TwilioError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
            if not sender:
                raise TwilioError(
                    400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required"
                )
            if not body:
                raise TwilioError(400, 21602, "Message body is required.")
            n = segments(body)
            if n > 10:
                raise TwilioError(400, 30018, "Message body exceeds the 10-segment limit.")
            new = _sid("SM")
            message = {
                "account_sid": account,
                "api_version": "2010-04-01",
                "body": body,
                "date_created": _now(),
                "date_sent": None,
                "date_updated": _now(),
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": sender,
                "messaging_service_sid": params.get("MessagingServiceSid"),
                "num_media": "0",
                "num_segments": str(n),
                "price": None,
                "price_unit": "USD",
                "sid": new,
                "status": "queued",
                "subresource_uris": {
                    "media": f"{API}/Accounts/{account}/Messages/{new}/Media.json"
                },
                "to": to,
                "uri": f"{API}/Accounts/{account}/Messages/{new}.json",
                "_callback": params.get("StatusCallback", ""),
            }
            self.store.messages[new] = message
            if self.auto and message["_callback"]:
                threading.Thread(target=self._auto_message, args=(new,), daemon=True).start()
            return message
        if method == "GET" and sid:
            message = self.store.messages.get(sid)
            if message is None or message["account_sid"] != account:
                raise TwilioError(404, 20404, f"The requested resource {sid} was not found")
            return message
        if method == "GET":
            items = [m for m in self.store.messages.values() if m["account_sid"] == account]
            return self._page("messages", items, account, "Messages")
        raise TwilioError(405, 20004, "Method not allowed")

    def _calls(self, method: str, sid: str | None, params: dict, account: str) -> dict:
        if method == "POST" and not sid:
            to = params.get("To", "")
            if not re.fullmatch(r"\+[1-9]\d{6,14}", to):
                raise TwilioError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
            if not params.get("Url") and not params.get("Twiml"):
                raise TwilioError(400, 21205, "Url parameter is required.")
            new = _sid("CA")
            call = {
                "sid": new,
                "account_sid": account,
                "to": to,
                "from": params.get("From", ""),
                "status": "queued",
                "direction": "outbound-api",
                "answered_by": None,
                "api_version": "2010-04-01",
                "date_created": _now(),
                "date_updated": _now(),
                "duration": None,
                "price": None,
                "uri": f"{API}/Accounts/{account}/Calls/{new}.json",
                "_url": params.get("Url", ""),
                "_callback": params.get("StatusCallback", ""),
                "_machine_detection": params.get("MachineDetection", ""),
            }
            self.store.calls[new] = call
            if self.auto:
                threading.Thread(target=self._auto_call, args=(new,), daemon=True).start()
            return call
        if method == "GET" and sid:
            call = self.store.calls.get(sid)
            if call is None or call["account_sid"] != account:
                raise TwilioError(404, 20404, f"The requested resource {sid} was not found")
            return call
        raise TwilioError(405, 20004, "Method not allowed")

    def _numbers(self, method: str, sid: str | None, params: dict, account: str) -> dict:
        mine = {k: v for k, v in self.store.numbers.items() if v["account_sid"] == account}
        if method == "GET" and not sid:
            return self._page(
                "incoming_phone_numbers", list(mine.values()), account, "IncomingPhoneNumbers"
            )
        if sid not in mine:
            raise TwilioError(404, 20404, f"The requested resource {sid} was not found")
        if method == "POST":
            if "SmsUrl" in params:
                mine[sid]["sms_url"] = params["SmsUrl"]
            mine[sid]["date_updated"] = _now()
        return mine[sid]

    @staticmethod
    def _page(key: str, items: list[dict], account: str, resource: str) -> dict:
        uri = f"{API}/Accounts/{account}/{resource}.json"
        return {
            key: items,
            "page": 0,
            "page_size": 50,
            "start": 0,
            "end": max(0, len(items) - 1),
            "uri": uri,
            "first_page_uri": uri + "?PageSize=50&Page=0",
            "next_page_uri": None,
            "previous_page_uri": None,
        }


def _public(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [_public(v) for v in obj]
    return obj


def _handler(server: LocalTwilio):
    store = server.store

    class TwilioHandler(BaseHTTPRequestHandler):
        server_version = "LocalTwilio/1.0"
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's requests session expects
        # One write per response and no Nagle: headers and body in separate small packets
        # would wait for the client's delayed ACK (40 ms a request).
        wbufsize = 1 << 16
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            self._handle("GET")

        def do_POST(self):  # noqa: N802
            self._handle("POST")

        def _account(self) -> str:
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Basic "):
                raise TwilioError(401, 20003, "Authenticate")
            sid, _, token = base64.b64decode(auth[6:]).decode().partition(":")
            with store.lock:
                known = store.accounts.get(sid)
                if known is None and store.open and sid.startswith("AC"):
                    store.accounts[sid] = known = token
            if known is None or known != token:
                raise TwilioError(401, 20003, "Authenticate")
            return sid

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            params.update(parse_qsl(body, keep_blank_values=True))
            record = Recorded(method, parts.path, params, "")
            try:
                record.account = self._account()
                with store.lock:
                    store.requests.append(record)
                result = server.handle(method, parts.path, params, record.account)
                status = (
                    201
                    if method == "POST"
                    and parts.path.rsplit("/", 1)[-1] in ("Messages.json", "Calls.json")
                    else 200
                )
                payload = _public(result)
            except TwilioError as error:
                status, payload = error.status, error.body()
            record.status = status
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Twilio-Request-Id", _sid("RQ"))
            self.end_headers()
            self.wfile.write(data)

    return TwilioHandler
