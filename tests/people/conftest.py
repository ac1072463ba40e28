"""Helpers for the people tests: clients for alpha's owner, a view-only staff member and an
editor, and a way to run code in alpha's schema."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tenants.models import Membership, User
from tests.conftest import PASSWORD
from tests.conftest import client_for as _client_for


def client_for(host, user, nation):
    """A logged-in client that leaves the connection in `nation`'s schema after each request
    (the request ends in public), so a test can go on reading the nation's rows."""
    client = _client_for(host, user, nation)
    request = client.request

    def request_then_back_in_nation(**kwargs):
        try:
            return request(**kwargs)
        finally:
            connection.set_tenant(nation)

    client.request = request_then_back_in_nation
    return client


@pytest.fixture
def in_alpha(alpha):
    """Code in the test body runs in alpha's schema."""
    with schema_context(alpha.nation.schema_name):
        yield alpha


@pytest.fixture
def owner(alpha):
    return client_for(alpha.host, alpha.owner, alpha.nation)


@pytest.fixture
def viewer(alpha):
    """Staff with people.view only."""
    return client_for(alpha.host, alpha.staff, alpha.nation)


@pytest.fixture
def editor(alpha):
    """Staff with people.view and people.edit (not an owner or admin)."""
    user = User.objects.create_user(
        email="editor@alpha.example", password=PASSWORD, full_name="Eddie Editor"
    )
    Membership.objects.create(
        user=user,
        nation=alpha.nation,
        role=Membership.Role.STAFF,
        permissions=["people.view", "people.edit", "people.export"],
    )
    return client_for(alpha.host, user, alpha.nation)
