"""Cache keys and stored files are per nation."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django_tenants.utils import schema_context

pytestmark = pytest.mark.django_db


def test_cache_entries_are_per_nation(alpha, bravo):
    with schema_context(alpha.nation.schema_name):
        cache.set("dashboard-stats", {"people": 1})
        assert cache.get("dashboard-stats") == {"people": 1}
    with schema_context(bravo.nation.schema_name):
        assert cache.get("dashboard-stats") is None
        cache.set("dashboard-stats", {"people": 2})
    with schema_context(alpha.nation.schema_name):
        assert cache.get("dashboard-stats") == {"people": 1}
    assert cache.get("dashboard-stats") is None  # public


def test_files_are_stored_per_nation(alpha, bravo, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    with schema_context(alpha.nation.schema_name):
        name = default_storage.save("logos/logo.txt", ContentFile(b"alpha"))
        path = default_storage.path(name)
        assert default_storage.exists(name)
    assert f"/{alpha.nation.schema_name}/" in path
    with schema_context(bravo.nation.schema_name):
        assert not default_storage.exists(name)
