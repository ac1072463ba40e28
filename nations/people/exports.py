"""Exports of people to CSV: everyone, a segment or a static list, with the columns chosen.

The file is written by PostgreSQL itself (`COPY (SELECT …) TO STDOUT`) into the nation's
storage from a background job, so a million people take seconds and no row passes through
Python. Cells a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) are prefixed with an apostrophe, in SQL for the export and by `neutralise()` for the
CSV files the panel writes in Python (OWASP "CSV injection")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.tasks import enqueue, nation_task
from nations.jobs.actions import job_create, job_fail, job_finish, job_start
from nations.jobs.models import Job

from .filters import segment_people
from .models import PeopleList, Person, Segment

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
JOB_KIND = "people_export"


def neutralise(value: str) -> str:
    """A cell a spreadsheet will show as text, never evaluate."""
    if value and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _safe(sql: str) -> str:
    return f"CASE WHEN left({sql}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') THEN '''' || {sql} ELSE {sql} END"


@dataclass(frozen=True)
class Column:
    label: object
    sql: str
    text: bool = True  # neutralise it


# Header names are those the importer recognises, so an export imports back as it was.
COLUMNS: dict[str, Column] = {
    "nations_id": Column(gettext_lazy("Id"), "p.id::text", text=False),
    "first_name": Column(gettext_lazy("First name"), "p.first_name"),
    "middle_name": Column(gettext_lazy("Middle name"), "p.middle_name"),
    "last_name": Column(gettext_lazy("Last name"), "p.last_name"),
    "email": Column(gettext_lazy("Email"), "p.email"),
    "phone": Column(gettext_lazy("Phone"), "p.phone"),
    "address1": Column(gettext_lazy("Address"), "p.address1"),
    "address2": Column(gettext_lazy("Address (line 2)"), "p.address2"),
    "postal_code": Column(gettext_lazy("Postal code"), "p.postal_code"),
    "city": Column(gettext_lazy("City"), "p.city"),
    "region": Column(gettext_lazy("Region"), "p.region"),
    "country": Column(gettext_lazy("Country"), "p.country"),
    "birthdate": Column(gettext_lazy("Birth date"), "p.birthdate::text", text=False),
    "language": Column(gettext_lazy("Language"), "p.language"),
    "employer": Column(gettext_lazy("Employer"), "p.employer"),
    "occupation": Column(gettext_lazy("Occupation"), "p.occupation"),
    "support_level": Column(gettext_lazy("Support level"), "p.support_level::text", text=False),
    "external_id": Column(gettext_lazy("External id"), "p.external_id"),
    "tags": Column(
        gettext_lazy("Tags"),
        "(SELECT string_agg(t.name, ', ' ORDER BY t.name) FROM people_tagging g"
        " JOIN people_tag t ON t.id = g.tag_id WHERE g.person_id = p.id)",
    ),
    "email_opt_in": Column(gettext_lazy("Email consent"), "p.email_consent", text=False),
    "sms_opt_in": Column(gettext_lazy("SMS consent"), "p.sms_consent", text=False),
    "points": Column(gettext_lazy("Points"), "p.points::text", text=False),
    "donations_total": Column(
        gettext_lazy("Donations total"), "(p.donations_total / 100.0)::text", text=False
    ),
    "created_at": Column(gettext_lazy("Added"), "to_char(p.created_at, 'YYYY-MM-DD')", text=False),
}
DEFAULT_COLUMNS = ("first_name", "last_name", "email", "phone", "postal_code", "city", "tags")
HEADER_NAMES = {
    "nations_id": "nations_id",
    "email_opt_in": "email_opt_in",
    "sms_opt_in": "sms_opt_in",
}


class ExportSourceMissing(Exception):
    """The segment or list to export no longer exists."""


def people_for(source: str, source_id: int | None):
    """The people a source names: "all", "segment" (id) or "list" (id); erased people never."""
    if source == "segment":
        segment = Segment.objects.filter(pk=source_id).first()
        if segment is None:
            raise ExportSourceMissing
        return segment_people(segment.definition)
    if source == "list":
        people_list = PeopleList.objects.filter(pk=source_id).first()
        if people_list is None:
            raise ExportSourceMissing
        return Person.objects.filter(list_memberships__people_list=people_list, is_erased=False)
    return Person.objects.filter(is_erased=False)


def source_title(source: str, source_id: int | None) -> str:
    if source == "segment":
        name = Segment.objects.filter(pk=source_id).values_list("name", flat=True).first()
        return _("Export of the segment “%(name)s”") % {"name": name}
    if source == "list":
        name = PeopleList.objects.filter(pk=source_id).values_list("name", flat=True).first()
        return _("Export of the list “%(name)s”") % {"name": name}
    return _("Export of everyone")


def export_start(
    *, source: str, source_id: int | None, columns: list[str], user_id: int | None
) -> Job:
    """Queue an export; the Job's result links to the file when it is written."""
    people_for(source, source_id)  # raises ExportSourceMissing now rather than in the worker
    columns = [c for c in columns if c in COLUMNS] or list(DEFAULT_COLUMNS)
    job = job_create(kind=JOB_KIND, title=source_title(source, source_id), created_by_id=user_id)
    Job.objects.filter(pk=job.pk).update(
        result={"source": source, "source_id": source_id, "columns": columns}
    )
    enqueue(export_people_task, job.pk)
    return job


def export_write(*, job_id: int) -> str:
    """Write the export a job describes into the nation's storage; returns the file's name."""
    job = Job.objects.get(pk=job_id, kind=JOB_KIND)
    spec = job.result
    columns = [c for c in spec.get("columns", []) if c in COLUMNS]
    people = people_for(spec.get("source", "all"), spec.get("source_id"))
    ids_sql, params = people.order_by().values("id").query.sql_with_params()
    selected = ", ".join(
        _safe(COLUMNS[c].sql) if COLUMNS[c].text else COLUMNS[c].sql for c in columns
    )
    name = f"exports/people-{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.csv"
    path = default_storage.path(default_storage.get_available_name(name))
    import os

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({ids_sql}) x", params)
        total = cursor.fetchone()[0]
        job_start(job_id=job_id, total=total)
        query = cursor.mogrify(
            f"COPY (SELECT {selected} FROM people_person p WHERE p.id IN ({ids_sql})"
            " ORDER BY p.id) TO STDOUT WITH (FORMAT csv)",
            params,
        ).decode()
        with open(path, "w", encoding="utf-8", newline="") as handle:
            import csv

            handle.write("\ufeff")  # so Excel reads the accents right
            csv.writer(handle).writerow([HEADER_NAMES.get(c, c) for c in columns])
            cursor.copy_expert(query, handle)
    relative = os.path.relpath(path, default_storage.path(""))
    return relative, total


@nation_task(name="people.export_people")
def export_people_task(job_id: int) -> None:
    try:
        name, total = export_write(job_id=job_id)
    except ExportSourceMissing:
        job_fail(job_id=job_id, message=_("The segment or list was deleted before the export ran."))
        return
    except Exception as exc:
        job_fail(job_id=job_id, message=str(exc)[:300])
        raise
    job = Job.objects.get(pk=job_id)
    job_finish(
        job_id=job_id,
        result={**job.result, "file": name, "rows": total},
        message=_("%(count)s people") % {"count": f"{total:,}"},
        result_url=reverse("panel:people:export_download", args=[job_id]),
    )
