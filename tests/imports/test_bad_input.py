"""Files as they come from the real world: every problem gets a clear message, the good rows
are imported, and every rejected row is in the report with its line and reason."""

from __future__ import annotations

import io

import pytest
from django.utils import translation
from django_tenants.utils import schema_context

from nations.imports.actions import import_create
from nations.imports.reader import MAX_COLUMNS, FileProblem
from nations.people.actions import Actor, consent_set, identity_hash, person_upsert
from nations.people.models import Person, Tombstone

from .conftest import reasons, run_file, upload_file

pytestmark = pytest.mark.django_db

HEADER = "Prénom,Nom,Courriel,Téléphone,Code postal,Ville\n"


def people(nation) -> dict[str, Person]:
    with schema_context(nation.schema_name):
        return {p.email: p for p in Person.objects.filter(email__endswith="@ex.fr")}


def refused(nation, content: bytes, name: str = "f.csv") -> str:
    with schema_context(nation.schema_name), pytest.raises(FileProblem) as problem:
        import_create(upload=upload_file(name, content), actor=Actor())
    return problem.value.message


@pytest.mark.parametrize(
    "encoding", ["latin-1", "cp1252", "utf-8-sig", "utf-16", "utf-16-le", "utf-8"]
)
def test_encodings_are_detected(alpha, encoding):
    text = HEADER + "Hélène,Lefèvre,helene@ex.fr,0612345678,69001,Besançon\n"
    done = run_file(alpha.nation, text.encode(encoding))
    assert (done.created, done.rejected) == (1, 0)
    helene = people(alpha.nation)["helene@ex.fr"]
    assert (helene.first_name, helene.last_name, helene.city) == ("Hélène", "Lefèvre", "Besançon")


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_separators_are_sniffed(alpha, separator):
    text = (HEADER + "Ana,Lopez,ana@ex.fr,0612345678,75011,Paris\n").replace(",", separator)
    done = run_file(alpha.nation, text.encode())
    assert done.delimiter == separator and done.created == 1
    assert people(alpha.nation)["ana@ex.fr"].city == "Paris"


def test_quoted_newlines_and_ragged_rows(alpha):
    text = (
        "first_name,last_name,email,address1\n"
        'Jo,Martin,jo@ex.fr,"12 rue Basse\nBâtiment B"\n'  # a quoted newline: lines 2-3
        "Short,Row,short@ex.fr\n"  # fewer cells than the header: fine
        "Long,Row,long@ex.fr,1 rue,extra,cells\n"  # more cells, not empty: rejected
        "Trailing,Empty,trail@ex.fr,2 rue,,\n"  # more cells, all empty: fine
        "Last,One,last@ex.fr,3 rue\n"
    )
    done = run_file(alpha.nation, text.encode())
    found = people(alpha.nation)
    assert found["jo@ex.fr"].address1 == "12 rue Basse Bâtiment B"
    assert {"short@ex.fr", "trail@ex.fr", "last@ex.fr"} <= set(found)
    assert reasons(done) == {5: "this row has 6 cells but the header names 4 columns"}
    assert done.created == 4


def test_invalid_emails_phones_and_dates_reject_their_rows_only(alpha):
    text = (
        "first_name,email,phone,birthdate,support_level\n"
        "Ok,ok@ex.fr,06 12 34 56 78,02/05/1980,3\n"
        "BadEmail,jean@@ex,,,\n"
        "BadPhone,badphone@ex.fr,12345,,\n"
        "BadDate,baddate@ex.fr,,31/02/1990,\n"
        "Future,future@ex.fr,,01/01/2999,\n"
        "Level,level@ex.fr,,,9\n"
        "Two,two@ex.fr,not a phone,1990-13-01,\n"
    )
    done = run_file(alpha.nation, text.encode())
    assert done.created == 1 and done.rejected == 6
    assert reasons(done) == {
        3: "“jean@@ex” is not an email address",
        4: "“12345” is not a valid phone number",
        5: "“31/02/1990” is not a date",
        6: "“01/01/2999” is not a plausible birth date",
        7: "support level “9” is not a number from 1 to 5",
        8: "“not a phone” is not a valid phone number; “1990-13-01” is not a date",
    }


def test_duplicate_rows_inside_the_file_are_reported(alpha, monkeypatch):
    from nations.imports import actions

    monkeypatch.setattr(actions, "CHUNK_ROWS", 3)  # so duplicates also span chunks
    text = "email,first_name\n" + "".join(
        f"{e}@ex.fr,{n}\n"
        for e, n in [
            ("a", "A"),
            ("b", "B"),
            ("A", "A again"),  # same email (case folded), same chunk
            ("c", "C"),
            ("b", "B again"),  # same email as line 3, next chunk
            ("d", "D"),
            ("e", "E"),
            ("f", "F"),
            ("g", "G"),
            ("c", "C again"),  # same email as line 5, two chunks later
        ]
    )
    done = run_file(alpha.nation, text.encode())
    assert done.created == 7
    assert reasons(done) == {
        4: "duplicate: same email as line 2",
        # The chunk before is still in memory (the two may be applied at the same time).
        6: "duplicate: same email as line 3",
        11: "duplicate: an earlier line of the file has the same email",
    }
    assert people(alpha.nation)["a@ex.fr"].first_name == "A"


def test_a_huge_cell_rejects_its_row_and_ten_thousand_columns_refuse_the_file(alpha):
    big = "x" * (1024 * 1024)
    text = f"first_name,email,unused\n{big},big@ex.fr,\nSmall,small@ex.fr,{big}\n"
    done = run_file(alpha.nation, text.encode())
    assert reasons(done) == {2: "First name is too long (1,048,576 characters; at most 100)"}
    assert "small@ex.fr" in people(alpha.nation)  # the big cell is in a column not imported

    wide = ",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("v" * 10_000) + "\n"
    message = refused(alpha.nation, wide.encode())
    assert message == (
        f"This file has 10,000 columns; at most {MAX_COLUMNS:,} can be imported. Remove the"
        " columns you do not need and upload it again."
    )


def test_empty_binary_and_header_only_files_are_refused(alpha):
    assert refused(alpha.nation, b"") == "The file is empty: there is nothing to import."
    assert refused(alpha.nation, b"\xef\xbb\xbf\r\n  \n") == (
        "The file is empty: there is nothing to import."
    )
    assert "does not contain text" in refused(alpha.nation, bytes(range(256)) * 100)
    assert "old Excel file (.xls)" in refused(alpha.nation, b"\xd0\xcf\x11\xe0" + b"\0" * 600)
    assert "a PDF document" in refused(alpha.nation, b"%PDF-1.4\n...")
    assert refused(alpha.nation, b"email,first_name\n") == (
        "The file has a header line but no rows of people under it."
    )
    with translation.override("fr"):
        assert refused(alpha.nation, b"") == "Le fichier est vide : il n’y a rien à importer."


def test_xlsx_files_are_read(alpha):
    from datetime import date

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["First Name", "Last Name", "Email", "Phone", "Birth Date", "Tags"])
    sheet.append(["Zoé", "Bernard", "zoe@ex.fr", 612345678, date(1985, 3, 4), "a;b"])
    sheet.append(["Bad", "Row", "nope", None, None, None])
    out = io.BytesIO()
    book.save(out)
    done = run_file(alpha.nation, out.getvalue(), name="people.xlsx")
    assert done.kind == "xlsx" and done.created == 1
    assert reasons(done) == {3: "“nope” is not an email address"}
    zoe = people(alpha.nation)["zoe@ex.fr"]
    assert (zoe.phone, str(zoe.birthdate)) == ("+33612345678", "1985-03-04")


def test_erased_people_are_not_brought_back_and_unsubscribes_stand(alpha):
    with schema_context(alpha.nation.schema_name):
        Tombstone.objects.create(email_hash=identity_hash("gone@ex.fr"))
        person, _ = person_upsert(data={"first_name": "Un"}, email="unsub@ex.fr", source="t")
        consent_set(person=person, channel="email", status="withdrawn", source="unsubscribe")
    text = (
        "email,first_name,email_opt_in\ngone@ex.fr,Gone,yes\nunsub@ex.fr,Un,yes\nnew@ex.fr,N,yes\n"
    )
    done = run_file(alpha.nation, text.encode())
    assert reasons(done) == {
        2: "this person was erased at their request (GDPR); they can only come back by signing"
        " up themselves"
    }
    found = people(alpha.nation)
    assert "gone@ex.fr" not in found
    assert found["unsub@ex.fr"].email_consent == "withdrawn"
    assert found["new@ex.fr"].email_consent == "granted"


def test_rows_without_anything_to_identify_someone_are_rejected(alpha):
    text = "first_name,city\n,Lyon\n,,\nAda,Paris\n"
    done = run_file(
        alpha.nation, text.encode(), match_rule="email", mapping={"0": "first_name", "1": "city"}
    )
    assert reasons(done) == {2: "no name, email, phone or external id: nothing to say who this is"}
    assert done.created == 1 and done.skipped == 1  # the blank line
