"""The import as a staff member goes through it in the panel: upload, columns, preview, start,
progress, report, rejected rows as CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from nations.imports.actions import import_run
from nations.imports.models import Import
from nations.people.models import Activity, Person

pytestmark = pytest.mark.django_db

NATIONBUILDER = (
    "nationbuilder_id,first_name,last_name,email,phone_number,primary_address1,primary_city,"
    "primary_zip,primary_country_code,tag_list,email_opt_in,born_at\n"
    "101,Hélène,Dupont,helene@example.fr,06 12 34 56 78,3 rue Haute,Lyon,69001,FR,"
    '"volunteer, donor",true,02/05/1980\n'
    "102,John,Smith,john@example.org,,,London,,GB,,false,\n"
    "103,Bad,Email,not-an-email,,,,,,,,\n"
    '104,Eve,"=HYPERLINK(""http://x"")",eve@example.org,,,,,,,,31/02/1990\n'
)


def test_upload_map_preview_run_and_report(owner, alpha, django_capture_on_commit_callbacks):
    response = owner.get("/panel/people/imports/")
    assert response.status_code == 200
    assert "No imports yet" in response.content.decode()

    upload = SimpleUploadedFile("nb-export.csv", NATIONBUILDER.encode(), content_type="text/csv")
    response = owner.post("/panel/people/imports/", {"file": upload})
    assert response.status_code == 302
    with schema_context(alpha.nation.schema_name):
        people_import = Import.objects.get()
    assert response["Location"] == f"/panel/people/imports/{people_import.pk}/"

    page = owner.get(response["Location"]).content.decode()
    # The NationBuilder headers are recognised.
    assert 'name="col_1"' in page and '<option value="first_name" selected>' in page
    assert '<option value="tags" selected>' in page and "helene@example.fr" in page
    form = {f"col_{i}": t for i, t in people_import.mapping.items()}
    form.update(match_rule="email", on_match="fill", date_order="dmy", extra_tags="spring 2026")
    response = owner.post(f"/panel/people/imports/{people_import.pk}/", form)
    assert response.status_code == 302 and response["Location"].endswith("/preview/")

    preview = owner.get(response["Location"]).content.decode()
    assert "Hélène" in preview and "+33612345678" in preview
    assert "“not-an-email” is not an email address" in preview
    assert "“31/02/1990” is not a date" in preview
    assert "2 of the first 4 rows can be imported" in preview

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner.post(f"/panel/people/imports/{people_import.pk}/preview/")
    assert response.status_code == 302 and len(callbacks) == 1  # the task is queued on commit
    status = owner.get(f"/panel/people/imports/{people_import.pk}/status/", HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in status.content.decode()
    with schema_context(alpha.nation.schema_name):
        people_import.refresh_from_db()
        assert people_import.status == "queued" and people_import.job is not None
        Import.objects.filter(pk=people_import.pk).update(status="running")
        import_run(people_import.pk)  # what the worker runs
        helene = Person.objects.get(email="helene@example.fr")
        assert (helene.first_name, helene.city, helene.postal_code, helene.external_id) == (
            "Hélène",
            "Lyon",
            "69001",
            "101",
        )
        assert helene.phone == "+33612345678" and helene.email_consent == "granted"
        assert str(helene.birthdate) == "1980-05-02"
        assert helene.search_text == "helene dupont helene@example.fr 33612345678 0612345678"
        assert set(helene.taggings.values_list("tag__name", flat=True)) == {
            "donor",
            "volunteer",
            "spring 2026",
        }
        assert helene.activities.filter(kind=Activity.Kind.IMPORTED).count() == 1
        john = Person.objects.get(email="john@example.org")
        assert john.email_consent == "withdrawn" and john.country == "GB"

    report = owner.get(f"/panel/people/imports/{people_import.pk}/").content.decode()
    assert "people added" in report and ">2<" in report
    assert "Rejected rows" in report and "not-an-email" in report

    response = owner.get(f"/panel/people/imports/{people_import.pk}/rejected.csv")
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["line", "reason", "row"]
    assert [r[0] for r in rows[1:]] == ["4", "5"]
    # The rejected row that held a formula is neutralised in the report too.
    assert "=HYPERLINK" in rows[2][2] and not rows[2][2].startswith("=")


def test_a_file_that_cannot_be_read_is_refused_with_a_message(owner, alpha):
    upload = SimpleUploadedFile("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    response = owner.post("/panel/people/imports/", {"file": upload})
    assert response.status_code == 400
    assert "This file is a PNG image, not a spreadsheet" in response.content.decode()
    with schema_context(alpha.nation.schema_name):
        assert not Import.objects.exists()


def test_the_mapping_refuses_a_field_twice_and_a_rule_without_its_column(owner, alpha):
    upload = SimpleUploadedFile("x.csv", b"Courriel,Email 2,Nom\na@b.fr,c@d.fr,Dupont\n")
    location = owner.post("/panel/people/imports/", {"file": upload})["Location"]
    response = owner.post(
        location,
        {
            "col_0": "email",
            "col_1": "email",
            "col_2": "last_name",
            "match_rule": "phone",
            "on_match": "fill",
            "date_order": "dmy",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "is already imported as Email" in page
    assert "No column is imported as Phone" in page


def test_staff_without_edit_permission_cannot_import(alpha):
    from tests.conftest import client_for

    viewer = client_for(alpha.host, alpha.staff, alpha.nation)
    assert viewer.get("/panel/people/imports/").status_code == 403
    upload = SimpleUploadedFile("x.csv", b"email\na@b.fr\n")
    assert viewer.post("/panel/people/imports/", {"file": upload}).status_code == 403
