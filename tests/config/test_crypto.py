"""Secrets at rest: encrypted with the newest key, readable with any configured key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from config import crypto


@pytest.fixture
def keys():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    yield old, new
    crypto._fernet.cache_clear()


def _use(keys: str):
    crypto._fernet.cache_clear()
    return override_settings(FIELD_ENCRYPTION_KEYS=keys)


def test_a_token_is_not_stored_in_clear_and_reads_back():
    token = crypto.encrypt("AC-secret-auth-token")
    assert "secret" not in token
    assert crypto.decrypt(token) == "AC-secret-auth-token"
    assert crypto.encrypt("") == ""


def test_rotation_keeps_old_tokens_readable_then_moves_them_to_the_new_key(keys):
    old, new = keys
    with _use(old):
        token = crypto.encrypt("x-access-token")
    with _use(f"{new},{old}"):
        assert crypto.decrypt(token) == "x-access-token"
        rotated = crypto.rotate(token)
    with _use(new):
        assert crypto.decrypt(rotated) == "x-access-token"
        with pytest.raises(crypto.InvalidToken):
            crypto.decrypt(token)
