"""Operators suspend, reactivate and schedule deletion; the nation's data is kept."""

from __future__ import annotations

import zipfile

import pytest
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from nations.people.models import Person
from tenants.actions import nation_purge, nation_schedule_deletion, nation_suspend
from tenants.models import Nation, User
from tenants.tasks import export_nation, purge_due_nations
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    return User.objects.create_superuser(
        email="op@platform.example", password="x" * 12, full_name="Op"
    )


def test_operator_console_lists_every_nation_with_its_facts(operator, alpha, bravo):
    console = client_for("localhost", operator)
    response = console.get("/operator/")
    assert response.status_code == 200
    rows = {n.slug: people for n, people in response.context["rows"]}
    assert rows["alpha"] == 1 and rows["bravo"] == 2
    html = response.content.decode()
    for text in ("Alpha Nation", "alpha.localhost", "Starter", "Active"):
        assert text in html
    assert "Bravo Nation" in console.get("/operator/?q=brav").content.decode()
    assert "Alpha Nation" not in console.get("/operator/?q=brav").content.decode()


def test_the_console_is_for_operators_only(alpha):
    assert Client(HTTP_HOST="localhost").get("/operator/").status_code == 302
    owner = client_for("localhost", alpha.owner)
    assert owner.get("/operator/").status_code == 403
    assert owner.post(f"/operator/nations/{alpha.nation.pk}/suspend/").status_code == 403
    alpha.nation.refresh_from_db()
    assert alpha.nation.status == Nation.Status.ACTIVE


def test_suspend_closes_site_and_panel_and_keeps_data_then_reactivate(operator, alpha):
    console = client_for("localhost", operator)
    console.post(f"/operator/nations/{alpha.nation.pk}/suspend/")
    alpha.nation.refresh_from_db()
    assert alpha.nation.status == Nation.Status.SUSPENDED

    site = Client(HTTP_HOST=alpha.host).get("/")
    assert site.status_code == 503
    assert "unavailable" in site.content.decode() and "Alpha" not in site.content.decode()
    panel = client_for(alpha.host, alpha.owner, alpha.nation)
    locked = panel.get("/panel/people/")
    assert locked.status_code == 423
    assert alpha.markers[0].email not in locked.content.decode()
    with schema_context(alpha.nation.schema_name):
        assert Person.objects.count() == 1

    console.post(f"/operator/nations/{alpha.nation.pk}/reactivate/")
    assert panel.get("/panel/people/").status_code == 200
    assert Client(HTTP_HOST=alpha.host).get("/").status_code == 200


def test_schedule_deletion_needs_the_slug_typed(operator, alpha):
    console = client_for("localhost", operator)
    console.post(
        f"/operator/nations/{alpha.nation.pk}/schedule-deletion/", {"confirm_slug": "nope"}
    )
    alpha.nation.refresh_from_db()
    assert alpha.nation.status == Nation.Status.ACTIVE


def test_deletion_exports_first_then_purges_everything(
    alpha, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.NATIONS_EXPORT_ROOT = tmp_path
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        nation = alpha.nation
        nation_suspend(nation=nation)
        with django_capture_on_commit_callbacks(execute=True):
            nation_schedule_deletion(nation=nation)
    finally:
        app.conf.task_always_eager = False
    nation.refresh_from_db()
    assert nation.status == Nation.Status.SCHEDULED_FOR_DELETION
    assert nation.export_file
    with zipfile.ZipFile(nation.export_file) as archive:
        people = archive.read("tables/people_person.csv").decode()
        assert alpha.markers[0].email in people
        assert b"owner@alpha.example" in archive.read("manifest.json")
    assert purge_due_nations() == 0  # not due yet
    Nation.objects.filter(pk=nation.pk).update(deletion_due_at="2000-01-01T00:00:00Z")
    assert purge_due_nations() == 1
    assert not Nation.objects.filter(pk=nation.pk).exists()
    assert not schema_exists(nation.schema_name)


def test_a_nation_without_export_is_never_purged(alpha):
    with pytest.raises(ValueError):
        nation_purge(nation=alpha.nation)
    assert schema_exists(alpha.nation.schema_name)


def test_export_task_writes_a_zip(alpha, tmp_path, settings):
    settings.NATIONS_EXPORT_ROOT = tmp_path
    path = export_nation(alpha.nation.pk)
    assert path and path.endswith(".zip") and zipfile.is_zipfile(path)
