from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from nations.imports.actions import import_configure, import_create, import_run
from nations.people.actions import Actor
from tests.conftest import client_for


@pytest.fixture
def owner(alpha):
    return client_for(alpha.host, alpha.owner, alpha.nation)


def upload_file(name: str, content: bytes):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def run_file(
    nation,
    content: bytes,
    *,
    name: str = "people.csv",
    match_rule: str = "email",
    on_match: str = "fill",
    mapping: dict | None = None,
    tags: list[str] | None = None,
    date_order: str = "dmy",
):
    """Upload, map (the suggested mapping unless given) and run an import to the end in
    `nation`'s schema; returns the finished Import."""
    with schema_context(nation.schema_name):
        people_import = import_create(upload=upload_file(name, content), actor=Actor(None, "test"))
        import_configure(
            people_import=people_import,
            mapping=mapping or people_import.mapping,
            match_rule=match_rule,
            on_match=on_match,
            date_order=date_order,
            extra_tags=tags or [],
        )
        people_import.status = "running"
        people_import.save()
        done = import_run(people_import.pk)
        done.reasons = dict(done.rejections.values_list("line", "reason"))
        return done


def reasons(people_import) -> dict[int, str]:
    return people_import.reasons
