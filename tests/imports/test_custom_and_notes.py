"""Columns that become the nation's custom fields (text, number, date, choice) and a "note"
column that becomes a note on the person: values checked row by row, bad ones reported with
their line, matches filled or overwritten like the other fields."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from nations.imports.actions import import_create
from nations.people.actions import Actor, custom_field_save, person_upsert
from nations.people.models import Activity, Note, Person

from .conftest import reasons, run_file, upload_file

pytestmark = pytest.mark.django_db

HEADER = "Prénom,Courriel,T-shirt size,Joined,Years active,Ward,Notes\n"


@pytest.fixture
def fields(alpha):
    with schema_context(alpha.nation.schema_name):
        return {
            "size": custom_field_save(label="T-shirt size", kind="choice", choices=["S", "M", "L"]),
            "joined": custom_field_save(label="Joined", kind="date"),
            "years": custom_field_save(label="Years active", kind="number"),
            "ward": custom_field_save(label="Ward", kind="text"),
        }


def _person(nation, email: str) -> Person:
    with schema_context(nation.schema_name):
        return Person.objects.get(email=email)


def test_custom_fields_and_notes_are_imported(alpha, fields, owner):
    text = (
        HEADER
        + 'Ana,ana@ex.fr,m,21/03/2019,"4,5",Nord,"Met at the market.\nCall back in May."\n'
        + "Bob,bob@ex.fr,XL,2019-03-21,3,Sud,\n"  # line 4 (Ana's note spans 2-3): not a choice
        + "Cyd,cyd@ex.fr,S,yesterday,2,Est,\n"  # line 5: not a date
        + "Dan,dan@ex.fr,L,01/02/2020,lots,Ouest,\n"  # line 6: not a number
        + "Eve,eve@ex.fr,,,,,Only a note\n"
    )
    with schema_context(alpha.nation.schema_name):
        draft = import_create(upload=upload_file("c.csv", text.encode()), actor=Actor())
    # The headers naming custom fields are recognised, and the notes column too.
    assert draft.mapping == {
        "0": "first_name",
        "1": "email",
        "2": f"custom:{fields['size'].slug}",
        "3": f"custom:{fields['joined'].slug}",
        "4": f"custom:{fields['years'].slug}",
        "5": f"custom:{fields['ward'].slug}",
        "6": "note",
    }
    done = run_file(alpha.nation, text.encode())
    assert (done.created, done.rejected) == (2, 3)
    assert reasons(done) == {
        4: "T-shirt size: “XL” is not one of the choices (S, M, L)",
        5: "Joined: “yesterday” is not a date",
        6: "Years active: “lots” is not a number",
    }
    ana = _person(alpha.nation, "ana@ex.fr")
    assert ana.custom == {
        fields["size"].slug: "M",
        fields["joined"].slug: "2019-03-21",
        fields["years"].slug: 4.5,
        fields["ward"].slug: "Nord",
    }
    eve = _person(alpha.nation, "eve@ex.fr")
    assert eve.custom == {}
    with schema_context(alpha.nation.schema_name):
        note = Note.objects.get(person=ana)
        assert note.body == "Met at the market.\nCall back in May."
        assert Note.objects.get(person=eve).body == "Only a note"
        assert Activity.objects.filter(person=ana, kind="note", data__note=note.pk).exists()
    # Staff see both on the profile.
    page = owner.get(f"/panel/people/{ana.pk}/").content.decode()
    assert "Met at the market." in page and "Nord" in page


def test_matches_are_filled_or_overwritten(alpha, fields):
    ward, size = fields["ward"].slug, fields["size"].slug
    with schema_context(alpha.nation.schema_name):
        person, _ = person_upsert(data={"first_name": "Zoé"}, email="zoe@ex.fr", source="t")
        Person.objects.filter(pk=person.pk).update(custom={ward: "Nord", size: ""})
    text = "Courriel,Ward,T-shirt size,Notes\nzoe@ex.fr,Sud,L,Moved south\n"
    done = run_file(alpha.nation, text.encode(), on_match="fill")
    assert (done.updated, done.rejected) == (1, 0)
    # "Update empty fields": the ward she had stays, the empty size is filled.
    assert _person(alpha.nation, "zoe@ex.fr").custom == {ward: "Nord", size: "L"}
    done = run_file(alpha.nation, text.replace("Sud", "Ouest").encode(), on_match="overwrite")
    assert _person(alpha.nation, "zoe@ex.fr").custom == {ward: "Ouest", size: "L"}
    with schema_context(alpha.nation.schema_name):
        updates = Activity.objects.filter(person__email="zoe@ex.fr", kind="updated").order_by("id")
        assert updates.last().data["changes"]["custom"] == [
            {ward: "Nord", size: "L"},
            {ward: "Ouest", size: "L"},
        ]
        # One note per import that carried one.
        assert Note.objects.filter(person__email="zoe@ex.fr").count() == 2
    done = run_file(alpha.nation, text.replace("Sud", "Est").encode(), on_match="skip")
    assert done.skipped == 1
    assert _person(alpha.nation, "zoe@ex.fr").custom[ward] == "Ouest"


def test_the_mapping_menu_offers_custom_fields_and_notes(alpha, fields, owner):
    with schema_context(alpha.nation.schema_name):
        content = (HEADER + "Ana,ana@ex.fr,M,2019-03-21,4,Nord,Hi\n").encode()
        draft = import_create(upload=upload_file("c.csv", content), actor=Actor())
    page = owner.get(f"/panel/people/imports/{draft.pk}/").content.decode()
    assert 'optgroup label="Custom fields"' in page
    # The preview shows the custom values and the note as they will be imported.
    preview = owner.get(f"/panel/people/imports/{draft.pk}/preview/").content.decode()
    assert "T-shirt size: M" in preview and "Joined: 2019-03-21" in preview
    assert "Note: Hi" in preview
    assert f'value="custom:{fields["joined"].slug}"' in page
    assert "Note (added to the person&#x27;s notes)" in page


def test_a_note_that_is_too_long_is_reported(alpha):
    text = "Courriel,Notes\nlong@ex.fr," + "x" * 20_001 + "\n"
    done = run_file(alpha.nation, text.encode())
    assert done.created == 0
    assert reasons(done) == {2: "the note is too long (20,001 characters; at most 20,000)"}
