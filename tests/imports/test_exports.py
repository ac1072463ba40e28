"""Exports: everyone, a segment or a list, the chosen columns, formula cells neutralised, the
export permission enforced, and a nation's export out of another's reach."""

from __future__ import annotations

import csv
import io

import pytest
from django_tenants.utils import schema_context

from nations.jobs.models import Job
from nations.people.actions import list_add, person_tag, person_upsert
from nations.people.exports import export_people_task, neutralise
from nations.people.models import PeopleList, Segment
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_neutralise():
    assert neutralise("=1+2") == "'=1+2"
    assert neutralise("+33612345678") == "'+33612345678"
    for risky in ("-2", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(risky) == "'" + risky
    assert neutralise("Hélène") == "Hélène" and neutralise("") == ""


def _export(owner, nation, form, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner.post("/panel/people/exports/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert len(callbacks) == 1
    job_id = int(response["Location"].rstrip("/").split("/")[-1])
    with schema_context(nation.schema_name):
        export_people_task.run(job_id)  # what the worker runs
        job = Job.objects.get(pk=job_id)
        assert job.status == "done", job.message
    download = owner.get(f"/panel/people/exports/{job_id}/download/")
    assert download.status_code == 200
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    return job_id, list(csv.reader(io.StringIO(body)))


def test_export_a_segment_and_a_list_with_chosen_columns(
    alpha, owner, django_capture_on_commit_callbacks
):
    with schema_context(alpha.nation.schema_name):
        evil, _ = person_upsert(
            data={"first_name": '=HYPERLINK("http://evil")', "last_name": "@cmd", "city": "-x"},
            email="evil@ex.fr",
            source="t",
        )
        person_tag(person=evil, names=["vip", "donor"])
        plain, _ = person_upsert(
            data={"first_name": "Hélène", "city": "Lyon"}, email="h@ex.fr", source="t"
        )
        segment = Segment.objects.create(
            name="VIP",
            definition={
                "match": "all",
                "conditions": [{"field": "tags", "op": "any", "value": ["vip"]}],
            },
        )
        people_list = PeopleList.objects.create(name="Board")
        list_add(people_list=people_list, person=plain)

    form = {
        "source": "segment",
        "segment": segment.pk,
        "columns": ["first_name", "last_name", "city", "tags", "email"],
    }
    _job, rows = _export(owner, alpha.nation, form, django_capture_on_commit_callbacks)
    assert rows == [
        ["first_name", "last_name", "city", "tags", "email"],
        ['\'=HYPERLINK("http://evil")', "'@cmd", "'-x", "donor, vip", "evil@ex.fr"],
    ]
    form = {
        "source": "list",
        "people_list": people_list.pk,
        "columns": ["first_name", "city", "phone"],
    }
    _job, rows = _export(owner, alpha.nation, form, django_capture_on_commit_callbacks)
    assert rows == [["first_name", "city", "phone"], ["Hélène", "Lyon", ""]]

    form = {"source": "all", "columns": ["email"]}
    job_id, rows = _export(owner, alpha.nation, form, django_capture_on_commit_callbacks)
    emails = {r[0] for r in rows[1:]}
    assert {"evil@ex.fr", "h@ex.fr", alpha.markers[0].email} <= emails

    # Staff without people.export, and another nation, cannot download it.
    viewer = client_for(alpha.host, alpha.staff, alpha.nation)
    assert viewer.get(f"/panel/people/exports/{job_id}/download/").status_code == 403
    assert viewer.get("/panel/people/exports/").status_code == 403


def test_another_nation_cannot_download_an_export(
    alpha, bravo, owner, django_capture_on_commit_callbacks
):
    job_id, _rows = _export(
        owner,
        alpha.nation,
        {"source": "all", "columns": ["email"]},
        django_capture_on_commit_callbacks,
    )
    attacker = client_for(bravo.host, bravo.owner, bravo.nation)
    assert attacker.get(f"/panel/people/exports/{job_id}/download/").status_code == 404
