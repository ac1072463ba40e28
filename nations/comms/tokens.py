"""Signed per-recipient tokens and Message-IDs.

A token names one delivery of one nation: `<id in base 36>.<signature>`, the signature an HMAC
of the nation's schema and the id under SECRET_KEY. A token made for nation A verifies nowhere
else (the schema is part of what is signed), and ids cannot be guessed or walked."""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.conf import settings


def _sig(purpose: str, schema: str, delivery_id: int, length: int) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(),
        f"comms:{purpose}:{schema}:{delivery_id}".encode(),
        hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(digest).decode()[:length]


def _b36(n: int) -> str:
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = chars[r] + out
        if not n:
            return out


def make_token(schema: str, delivery_id: int) -> str:
    return f"{_b36(delivery_id)}.{_sig('t', schema, delivery_id, 16)}"


def read_token(schema: str, token: str) -> int | None:
    """The delivery id a token names in this nation, or None if it is not one of its tokens."""
    head, _, sig = (token or "").partition(".")
    if not head or len(head) > 13 or not sig:
        return None
    try:
        delivery_id = int(head, 36)
    except ValueError:
        return None
    if hmac.compare_digest(sig, _sig("t", schema, delivery_id, 16)):
        return delivery_id
    return None


def make_message_id(schema: str, delivery_id: int, domain: str) -> str:
    return f"<{delivery_id}.{schema}.{_sig('m', schema, delivery_id, 10)}@{domain}>"


def read_message_id(message_id: str) -> tuple[str, int] | None:
    """(schema, delivery id) of one of our Message-IDs, verified; None for anything else."""
    value = (message_id or "").strip().strip("<>")
    local = value.split("@", 1)[0]
    parts = local.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    delivery_id, schema, sig = int(parts[0]), parts[1], parts[2]
    if hmac.compare_digest(sig, _sig("m", schema, delivery_id, 10)):
        return schema, delivery_id
    return None
