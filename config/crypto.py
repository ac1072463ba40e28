"""Secrets at rest: third-party tokens (Twilio auth tokens, X and Mastodon access tokens) are
stored encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`).

Keys come from FIELD_ENCRYPTION_KEYS: a comma-separated list of Fernet keys, newest first. Every
value is encrypted with the first key and decrypted with any of them, so a key is rotated by
putting a new one in front and running `manage.py rotate_secrets` before dropping the old one.
Without the setting (dev, tests) a key is derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@functools.cache
def _fernet() -> MultiFernet:
    keys = [k.strip() for k in (settings.FIELD_ENCRYPTION_KEYS or "").split(",") if k.strip()]
    if not keys:
        digest = hashlib.sha256(
            b"nations.field-encryption:" + settings.SECRET_KEY.encode()
        ).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    """The plain text; raises InvalidToken if no configured key opened it."""
    return _fernet().decrypt(token.encode()).decode() if token else ""


def rotate(token: str) -> str:
    """The same secret re-encrypted with the newest key."""
    return _fernet().rotate(token.encode()).decode() if token else ""


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python code sees the plain text.

    Not searchable or orderable by design. An undecryptable value (a lost key) raises
    `InvalidToken` when the row is loaded rather than silently yielding garbage."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value


__all__ = ["EncryptedTextField", "InvalidToken", "decrypt", "encrypt", "rotate"]
