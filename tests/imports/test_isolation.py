"""An import of nation A is invisible to B, and B cannot resume, preview or download it."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from nations.imports.models import Import
from tests.conftest import client_for

from .conftest import run_file

pytestmark = pytest.mark.django_db


def test_another_nation_cannot_see_or_resume_an_import(alpha, bravo):
    text = "email,first_name\nsecret@alpha.fr,SECRETALPHA\nbad,x\n"
    done = run_file(alpha.nation, text.encode(), name="alpha-secret.csv")
    with schema_context(alpha.nation.schema_name):
        Import.objects.filter(pk=done.pk).update(status="failed")
    attacker = client_for(bravo.host, bravo.owner, bravo.nation)
    for url in ("", "preview/", "status/", "rejected.csv"):
        response = attacker.get(f"/panel/people/imports/{done.pk}/{url}")
        assert response.status_code == 404, url
    assert attacker.post(f"/panel/people/imports/{done.pk}/resume/").status_code == 404
    listing = attacker.get("/panel/people/imports/").content.decode()
    assert "alpha-secret.csv" not in listing
    with schema_context(alpha.nation.schema_name):
        assert Import.objects.get(pk=done.pk).status == "failed"
    # A's own owner sees it.
    owner = client_for(alpha.host, alpha.owner, alpha.nation)
    assert "alpha-secret.csv" in owner.get("/panel/people/imports/").content.decode()
