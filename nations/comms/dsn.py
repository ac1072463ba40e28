"""The inbound bounce mailbox: delivery status notifications (RFC 3464) and abuse reports
(RFC 5965, ARF), as they arrive at COMMS_BOUNCE_ADDRESS.

`bounce_process(raw)` finds the original message's Message-ID (ours are signed, so a forged
report naming someone else's address changes nothing), reads the per-recipient action and
status, and records a hard bounce (5.x.x), a soft one (4.x.x) or a complaint. Feed it from the
MTA (a Postfix `pipe` transport running `manage.py comms_bounce`) or from a mailbox poller."""

from __future__ import annotations

import hashlib
import re
from email import message_from_bytes, policy
from email.message import Message

from .tokens import read_message_id

MESSAGE_ID = re.compile(r"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def _original_message_id(message: Message) -> str | None:
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype in (
            "message/rfc822",
            "message/rfc822-headers",
            "text/rfc822-headers",
            "message/global-headers",
        ):
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                found = payload[0].get("Message-ID")
                if found:
                    return str(found).strip()
            raw = part.as_string() if not isinstance(payload, str) else payload
            match = MESSAGE_ID.search(raw)
            if match:
                return match.group(1)
    match = MESSAGE_ID.search(message.as_string())
    return (
        match.group(1)
        if match and match.group(1) != str(message.get("Message-ID", "")).strip()
        else None
    )


def _delivery_status(message: Message) -> tuple[str, str]:
    """(action, status) of the first recipient block: ("failed", "5.1.1") and so on."""
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            text = part.as_string()
            action = re.search(r"^Action:\s*(\S+)", text, re.IGNORECASE | re.MULTILINE)
            status = re.search(
                r"^Status:\s*([245]\.\d{1,3}\.\d{1,3})", text, re.IGNORECASE | re.MULTILINE
            )
            return (action.group(1).lower() if action else "", status.group(1) if status else "")
    return "", ""


def parse(raw: bytes) -> dict | None:
    """{"schema", "delivery_id", "kind": bounce|soft|complaint, "detail"}, or None."""
    message = message_from_bytes(raw, policy=policy.compat32)
    original = _original_message_id(message)
    found = read_message_id(original or "")
    if found is None:
        return None
    schema, delivery_id = found
    ctype = message.get_content_type()
    report_type = (message.get_param("report-type") or "").lower()
    if ctype == "multipart/report" and report_type == "feedback-report":
        return {
            "schema": schema,
            "delivery_id": delivery_id,
            "kind": "complaint",
            "detail": "abuse report",
        }
    action, status = _delivery_status(message)
    if action == "delayed" or status.startswith("4"):
        kind = "soft"
    elif action == "failed" or status.startswith("5"):
        kind = "bounce"
    else:
        return None
    return {
        "schema": schema,
        "delivery_id": delivery_id,
        "kind": kind,
        "detail": f"{action} {status}".strip(),
    }


def bounce_process(raw: bytes) -> str:
    """Apply one report; returns what was done ("bounce", "soft", "complaint", "ignored")."""
    from .webhooks import apply_event

    report = parse(raw)
    if report is None:
        return "ignored"
    event = {"bounce": "bounced", "soft": "deferred", "complaint": "complained"}[report["kind"]]
    # The same report read twice (a mailbox poll that stopped before deleting it) counts once.
    event_id = "report:" + hashlib.sha256(raw).hexdigest()
    applied = apply_event(
        report["schema"], report["delivery_id"], event, detail=report["detail"], event_id=event_id
    )
    return report["kind"] if applied else "ignored"
