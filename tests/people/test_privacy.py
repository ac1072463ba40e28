"""RGPD/GDPR: everything held about a person, downloadable; erasure with a tombstone."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from nations.people import actions
from nations.people.models import (
    Activity,
    ConsentChange,
    Note,
    Person,
    PersonEmail,
    PersonPhone,
    Tagging,
    Tombstone,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def helene(in_alpha):
    person, _ = actions.person_upsert(
        data={
            "first_name": "Hélène",
            "last_name": "Dupont",
            "city": "Lyon",
            "postal_code": "69001",
        },
        email="helene@example.org",
        phone="0612345678",
        source="page:petition",
        tags=["volunteer"],
        consents={"email": ("granted", "Keep me posted by email")},
    )
    actions.person_email_add(person=person, address="h.dupont@work.example")
    actions.note_add(person=person, body="Prefers calls after 6pm")
    actions.contact_log_add(person=person, method="call", outcome="reached", notes="Will help")
    Person.objects.filter(pk=person.pk).update(donations_count=3, donations_total=4500, points=9)
    person.refresh_from_db()
    return person


def test_export_holds_everything_as_json_and_csv(helene, owner):
    response = owner.get(f"/panel/people/{helene.pk}/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f"person-{helene.pk}-" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("person.json"))
    assert data["person"][0]["first_name"] == "Hélène"
    assert {e["address"] for e in data["emails"]} == {
        "helene@example.org",
        "h.dupont@work.example",
    }
    assert data["phones"][0]["number"] == "+33612345678"
    assert data["tags"][0]["name"] == "volunteer"
    assert data["notes"][0]["body"] == "Prefers calls after 6pm"
    assert data["contacts"][0]["notes"] == "Will help"
    assert data["consent_changes"][0]["wording"] == "Keep me posted by email"
    assert {a["kind"] for a in data["activities"]} >= {"created", "tagged", "note", "consent"}
    rows = list(csv.DictReader(io.StringIO(archive.read("emails.csv").decode("utf-8-sig"))))
    assert {r["address"] for r in rows} == {"helene@example.org", "h.dupont@work.example"}
    assert "notes.csv" in archive.namelist() and "person.csv" in archive.namelist()


def test_erase_wipes_personal_data_and_keeps_aggregates(helene, owner):
    url = f"/panel/people/{helene.pk}/erase/"
    assert "Type ERASE to confirm" in owner.get(url).content.decode()
    assert owner.post(url, {"confirm": "nope"}).status_code == 400
    assert not Person.objects.get(pk=helene.pk).is_erased
    response = owner.post(url, {"confirm": "erase"})
    assert response["Location"] == f"/panel/people/{helene.pk}/"
    person = Person.objects.get(pk=helene.pk)
    assert person.is_erased
    for name in ("first_name", "last_name", "email", "phone", "city", "postal_code", "search_text"):
        assert getattr(person, name) == "", name
    assert person.custom == {} and person.social == {} and person.birthdate is None
    assert (person.donations_count, person.donations_total, person.points) == (3, 4500, 9)
    assert not PersonEmail.objects.filter(person=person).exists()
    assert not PersonPhone.objects.filter(person=person).exists()
    assert not Tagging.objects.filter(person=person).exists()
    assert list(Note.objects.filter(person=person).values_list("body", flat=True)) == [""]
    assert not ConsentChange.objects.filter(person=person).exclude(wording="").exists()
    assert not Activity.objects.filter(person=person).exclude(summary="").exists()
    assert person.activities.latest("id").kind == Activity.Kind.ERASED
    assert person.email_consent == "withdrawn"
    hashes = set(Tombstone.objects.values_list("email_hash", flat=True)) | set(
        Tombstone.objects.values_list("phone_hash", flat=True)
    )
    assert {
        actions.identity_hash("helene@example.org"),
        actions.identity_hash("h.dupont@work.example"),
        actions.identity_hash("+33612345678"),
    } <= hashes
    body = owner.get(f"/panel/people/{helene.pk}/").content.decode()
    assert "Hélène" not in body and "helene@example.org" not in body
    assert "Personal data erased" in body
    # Nothing of them in the list or the search either.
    assert "Dupont" not in owner.get("/panel/people/", {"q": "dupont"}).content.decode()


def test_an_import_cannot_bring_an_erased_person_back_but_they_can(helene):
    actions.person_erase(person=helene)
    for email, phone in (("helene@example.org", ""), ("", "06 12 34 56 78")):
        with pytest.raises(actions.PersonErased):
            actions.person_upsert(
                data={"first_name": "H"}, email=email, phone=phone, source="import:1"
            )
    back, created = actions.person_upsert(
        data={"first_name": "Hélène"},
        email="HELENE@example.org",
        source="page:signup",
        self_signup=True,
    )
    assert created and back.pk != helene.pk
    assert not Tombstone.objects.filter(
        email_hash=actions.identity_hash("helene@example.org")
    ).exists()
    # The other identities stay protected.
    with pytest.raises(actions.PersonErased):
        actions.person_upsert(data={}, email="h.dupont@work.example", source="import:2")
    # Now that she came back herself, an import may update her.
    again, created = actions.person_upsert(
        data={"city": "Lyon"}, email="helene@example.org", source="import:3"
    )
    assert not created and again.pk == back.pk


def test_erase_is_for_owners_and_admins_export_needs_the_permission(helene, viewer, editor):
    url = f"/panel/people/{helene.pk}/erase/"
    assert viewer.get(url).status_code == 403
    assert viewer.post(url, {"confirm": "ERASE"}).status_code == 403
    # An editor (people.edit, not owner/admin) cannot erase either.
    assert editor.post(url, {"confirm": "ERASE"}).status_code == 403
    assert not Person.objects.get(pk=helene.pk).is_erased
    assert viewer.get(f"/panel/people/{helene.pk}/export/").status_code == 403
    assert editor.get(f"/panel/people/{helene.pk}/export/").status_code == 200
    body = editor.get(f"/panel/people/{helene.pk}/").content.decode()
    assert url not in body


def test_erase_is_idempotent(helene):
    actions.person_erase(person=helene)
    count = Tombstone.objects.count()
    actions.person_erase(person=helene)
    assert Tombstone.objects.count() == count


def test_erased_person_cannot_be_edited(helene, owner):
    actions.person_erase(person=helene)
    response = owner.post(f"/panel/people/{helene.pk}/edit/", {"first_name": "Back"})
    assert response.status_code == 302
    assert Person.objects.get(pk=helene.pk).first_name == ""
