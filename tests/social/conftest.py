"""Social posts against the local X and Mastodon server (config/social_server), reached by the
official SDKs over HTTP: tweepy through the transport adapter (so OAuth1 signing happens and is
verified by the server), Mastodon.py with the server as its instance."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from config.social_server import LocalSocial
from nations.social import actions
from tests.comms.conftest import NationClient

CONSUMER = ("test-consumer-key", "test-consumer-secret")


@pytest.fixture(scope="session")
def _social_server():
    server = LocalSocial().start()
    server.add_x_consumer(*CONSUMER)
    server.add_x_user("x-alpha-token", "x-alpha-secret", "alpha_nation")
    server.add_x_user("x-bravo-token", "x-bravo-secret", "bravo_nation")
    server.add_mastodon_user("m-alpha-token", "alpha")
    yield server
    server.stop()


@pytest.fixture
def social(_social_server, settings, tmp_path):
    settings.SOCIAL_X_CONSUMER_KEY, settings.SOCIAL_X_CONSUMER_SECRET = CONSUMER
    settings.SOCIAL_X_API_BASE = _social_server.url
    settings.SOCIAL_MASTODON_ALLOW_HTTP = True
    settings.COMMS_JOURNAL_DIR = tmp_path / "journal"
    _social_server.reset()
    return _social_server


@pytest.fixture
def in_alpha(alpha):
    with schema_context(alpha.nation.schema_name):
        connection.set_tenant(alpha.nation)
        yield alpha


@pytest.fixture
def x_account(social, in_alpha):
    return actions.account_connect_x(access_token="x-alpha-token", access_secret="x-alpha-secret")


@pytest.fixture
def mastodon_account(social, in_alpha):
    return actions.account_connect_mastodon(instance_url=social.url, access_token="m-alpha-token")


@pytest.fixture
def staff(in_alpha):
    return NationClient(in_alpha, in_alpha.owner)
