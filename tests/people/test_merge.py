"""Duplicates and merging: the survivor keeps everything both people had."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from nations.people import actions
from nations.people.duplicates import duplicate_pairs
from nations.people.models import (
    Activity,
    ConsentChange,
    ContactLog,
    ListMembership,
    Merge,
    Note,
    PeopleList,
    Person,
    PersonEmail,
    PersonPhone,
    Tagging,
)

pytestmark = pytest.mark.django_db


def _rows_pointing_at(person_id: int) -> dict[str, int]:
    counts = {}
    for rel in actions._person_relations():
        n = rel.related_model._base_manager.filter(**{rel.field.name: person_id}).count()
        if n:
            counts[rel.related_model._meta.label_lower + "." + rel.field.name] = n
    return counts


@pytest.fixture
def pair(in_alpha):
    survivor, _ = actions.person_upsert(
        data={"first_name": "Hélène", "last_name": "Dupont", "city": "Lyon", "external_id": ""},
        email="helene@example.org",
        phone="0612345678",
        source="test",
        tags=["volunteer", "donor"],
        consents={"email": ("granted", "News by email?"), "sms": ("granted", "Texts?")},
    )
    other, _ = actions.person_upsert(
        data={
            "first_name": "Helene",
            "last_name": "Dupond",
            "postal_code": "69001",
            "birthdate": "1980-05-01",
            "employer": "SNCF",
            "external_id": "NB-42",
        },
        email="h.dupont@work.example",
        phone="0698765432",
        source="test",
        tags=["volunteer", "canvasser"],
        consents={"email": ("withdrawn", "Unsubscribe link")},
    )
    # The same email on both (typed again at an event): kept once.
    actions.person_email_add(person=other, address="helene@example.org")
    shared = PeopleList.objects.create(name="Phone bank")
    only_other = PeopleList.objects.create(name="Lyon team")
    for people_list in (shared,):
        actions.list_add(people_list=people_list, person=survivor)
    for people_list in (shared, only_other):
        actions.list_add(people_list=people_list, person=other)
    actions.note_add(person=survivor, body="Survivor's note")
    actions.note_add(person=other, body="Other's note")
    actions.contact_log_add(person=other, method="call", outcome="reached", notes="Keen")
    recruit, _ = actions.person_upsert(
        data={"first_name": "Rec", "last_name": "Ruit"}, source="test", recruiter=other
    )
    Person.objects.filter(pk=survivor.pk).update(points=3, donations_count=1, donations_total=500)
    Person.objects.filter(pk=other.pk).update(points=4, donations_count=2, donations_total=2500)
    survivor.refresh_from_db()
    other.refresh_from_db()
    return survivor, other, recruit


def test_merge_moves_every_row_and_drops_only_duplicates(pair):
    survivor, other, recruit = pair
    before_survivor = _rows_pointing_at(survivor.pk)
    before_other = _rows_pointing_at(other.pk)
    other_id = other.pk
    notes = Note.objects.count()
    activities_before = Activity.objects.filter(person__in=[survivor, other]).count()

    actions.person_merge(survivor=survivor, other=other, actor=actions.Actor(7, "Owner"))

    assert not Person.objects.filter(pk=other_id).exists()
    assert _rows_pointing_at(other_id) == {}
    survivor.refresh_from_db()
    # Emails and phones of both; the shared email once; one primary, the survivor's.
    assert sorted(survivor.emails.values_list("address", flat=True)) == [
        "h.dupont@work.example",
        "helene@example.org",
    ]
    assert list(survivor.emails.filter(is_primary=True).values_list("address", flat=True)) == [
        "helene@example.org"
    ]
    assert survivor.phones.count() == 2 and survivor.phones.filter(is_primary=True).count() == 1
    assert sorted(Tagging.objects.filter(person=survivor).values_list("tag__name", flat=True)) == [
        "canvasser",
        "donor",
        "volunteer",
    ]
    assert sorted(
        ListMembership.objects.filter(person=survivor).values_list("people_list__name", flat=True)
    ) == ["Lyon team", "Phone bank"]
    assert Note.objects.count() == notes
    assert set(Note.objects.filter(person=survivor).values_list("body", flat=True)) == {
        "Survivor's note",
        "Other's note",
    }
    assert ContactLog.objects.filter(person=survivor, notes="Keen").exists()
    assert ConsentChange.objects.filter(person=survivor).count() == 3
    # Every timeline entry of both, plus the "merged" one.
    assert survivor.activities.count() == activities_before + 1
    merged = survivor.activities.get(kind=Activity.Kind.MERGED)
    assert merged.data["merged_person_id"] == other_id and merged.actor_name == "Owner"
    # Row counts: everything moved except the duplicates (1 email, 1 tag, 1 list).
    after = _rows_pointing_at(survivor.pk)
    for key in before_survivor.keys() | before_other.keys():
        expected = before_survivor.get(key, 0) + before_other.get(key, 0)
        duplicates = {
            "people.personemail.person": 1,
            "people.tagging.person": 1,
            "people.listmembership.person": 1,
            "people.activity.person": -1,  # + the "merged" entry
            "people.merge.survivor": -1,  # + the Merge row
        }.get(key, 0)
        assert after.get(key, 0) == expected - duplicates, key
    # Empty fields filled, filled ones kept; sums; the most protective consent.
    assert (survivor.first_name, survivor.last_name, survivor.city) == ("Hélène", "Dupont", "Lyon")
    assert survivor.postal_code == "69001" and survivor.employer == "SNCF"
    assert str(survivor.birthdate) == "1980-05-01" and survivor.external_id == "NB-42"
    assert survivor.points == 3 + 4
    assert (survivor.donations_count, survivor.donations_total) == (3, 3000)
    assert survivor.email_consent == "withdrawn" and survivor.sms_consent == "granted"
    recruit.refresh_from_db()
    assert recruit.recruiter_id == survivor.pk
    # The merge is recorded with a snapshot of who was merged.
    record = Merge.objects.get(survivor=survivor)
    assert record.merged_person_id == other_id and record.actor_id == 7
    assert record.merged_snapshot["last_name"] == "Dupond"
    assert "h.dupont@work.example" in record.merged_snapshot["emails"]
    # Search finds the survivor by the other's email.
    assert "work.example" in survivor.search_text


def test_merge_keeps_earliest_creation_and_latest_activity(in_alpha):
    now = timezone.now()
    a = actions.person_create(first_name="A", last_name="One")
    b = actions.person_create(first_name="B", last_name="Two")
    Person.objects.filter(pk=b.pk).update(
        created_at=now - timedelta(days=400), last_activity_at=now + timedelta(days=1)
    )
    merged = actions.person_merge(survivor=a, other=b)
    assert merged.created_at == now - timedelta(days=400)


def test_a_person_recruited_by_the_other_does_not_recruit_themself(in_alpha):
    other = actions.person_create(first_name="Other", last_name="X")
    survivor, _ = actions.person_upsert(
        data={"first_name": "Surv", "last_name": "Y"}, source="test", recruiter=other
    )
    merged = actions.person_merge(survivor=survivor, other=other)
    assert merged.recruiter_id is None


def test_cannot_merge_with_self_or_erased(in_alpha):
    a = actions.person_create(first_name="A")
    with pytest.raises(ValueError):
        actions.person_merge(survivor=a, other=a)
    b = actions.person_create(first_name="B", email="b@example.org")
    actions.person_erase(person=b)
    with pytest.raises(ValueError):
        actions.person_merge(survivor=a, other=b)


def test_merge_preview_and_merge_in_the_panel(pair, owner, viewer, editor):
    survivor, other, _recruit = pair
    url = f"/panel/people/{survivor.pk}/merge/{other.pk}/"
    body = owner.get(url).content.decode()
    assert "Merge two people" in body and "SNCF" in body and "NB-42" in body
    # The result column marks the value that comes from the merged-in person.
    assert re.search(r'class="keep from-other"[^>]*>SNCF<', body)
    assert viewer.get(url).status_code == 403
    assert viewer.post(url).status_code == 403
    assert Person.objects.filter(pk=other.pk).exists()
    response = editor.post(url)
    assert response["Location"] == f"/panel/people/{survivor.pk}/"
    assert not Person.objects.filter(pk=other.pk).exists()
    body = owner.get(f"/panel/people/{survivor.pk}/").content.decode()
    assert f"Merged with Helene Dupond (#{other.pk})" in body
    assert "by Eddie Editor" in body


def test_merge_pick_searches_other_people(pair, owner):
    survivor, other, _ = pair
    body = owner.get(f"/panel/people/{survivor.pk}/merge/", {"q": "dupond"}).content.decode()
    assert f"/panel/people/{survivor.pk}/merge/{other.pk}/" in body


def test_duplicates_finder(in_alpha, owner):
    Person.objects.all().delete()
    a = actions.person_create(first_name="Jean", last_name="Martin", email="jean@example.org")
    b = actions.person_create(first_name="J", last_name="M", email="other@example.org")
    actions.person_email_add(person=b, address="jean@example.org")
    c = actions.person_create(first_name="Paul", last_name="Roux", phone="0611223344")
    d = actions.person_create(first_name="Pauline", last_name="Durand")
    PersonPhone.objects.create(person=d, number="+33611223344")  # as an old import left it
    e, _ = actions.person_upsert(
        data={"first_name": "Marie-Hélène", "last_name": "Lefèvre", "postal_code": "75011"},
        source="t",
    )
    f, _ = actions.person_upsert(
        data={"first_name": "Marie-Helene", "last_name": "Lefevre", "postal_code": "75011"},
        source="t",
    )
    # Same name, another postal code; another name, same postal code: not duplicates.
    actions.person_upsert(
        data={"first_name": "Marie-Hélène", "last_name": "Lefèvre", "postal_code": "13001"},
        source="t",
    )
    actions.person_upsert(
        data={"first_name": "Kevin", "last_name": "Nguyen", "postal_code": "75011"}, source="t"
    )
    page = duplicate_pairs()
    found = {(p.older.pk, p.newer.pk): p.reasons for p in page.pairs}
    assert found == {(a.pk, b.pk): ["email"], (c.pk, d.pk): ["phone"], (e.pk, f.pk): ["name"]}
    assert page.next_before is None
    body = owner.get("/panel/people/duplicates/").content.decode()
    assert "/panel/people/merge/" not in body
    assert f"/panel/people/{a.pk}/merge/{b.pk}/" in body
    assert "similar name, same postal code" in body


def test_duplicates_walk_in_batches(in_alpha, monkeypatch):
    from nations.people import duplicates

    Person.objects.all().delete()
    a = actions.person_create(first_name="A", email="same@example.org")
    for i in range(5):
        actions.person_create(first_name=f"Filler{i}", email=f"f{i}@example.org")
    b = actions.person_create(first_name="B", email="x@example.org")
    actions.person_email_add(person=b, address="same@example.org")
    monkeypatch.setattr(duplicates, "BATCH", 2)
    page = duplicate_pairs(limit=1, max_batches=1)
    assert [(p.older.pk, p.newer.pk) for p in page.pairs] == [(a.pk, b.pk)]
    assert page.next_before is not None
    rest = duplicate_pairs(before=page.next_before)
    assert rest.pairs == [] and rest.next_before is None


def test_no_duplicates_empty_state(in_alpha, owner):
    Person.objects.all().delete()
    assert "No likely duplicates" in owner.get("/panel/people/duplicates/").content.decode()


def test_primary_email_moves_when_survivor_has_none(in_alpha):
    survivor = actions.person_create(first_name="No", last_name="Email")
    other = actions.person_create(first_name="Has", email="has@example.org", phone="0611111111")
    merged = actions.person_merge(survivor=survivor, other=other)
    assert merged.email == "has@example.org" and merged.phone == "+33611111111"
    assert PersonEmail.objects.get(person=merged).is_primary
    assert PersonPhone.objects.get(person=merged).is_primary


def _two_sharing_an_email():
    Person.objects.all().delete()
    a = actions.person_create(first_name="Jean", last_name="Martin", email="jean@example.org")
    b = actions.person_create(first_name="Jeanne", last_name="Martin", email="jm@example.org")
    actions.person_email_add(person=b, address="jean@example.org")
    return a, b


def test_not_a_duplicate_is_remembered(in_alpha, owner):
    a, b = _two_sharing_an_email()
    c = actions.person_create(first_name="Paul", last_name="Roux", phone="0611223344")
    d = actions.person_create(first_name="Paula", last_name="Roux")
    PersonPhone.objects.create(person=d, number="+33611223344")
    page = owner.get("/panel/people/duplicates/").content.decode()
    dismiss = f"/panel/people/duplicates/{a.pk}/{b.pk}/dismiss/"
    assert dismiss in page and "Not a duplicate" in page

    response = owner.post(dismiss, follow=True)
    body = response.content.decode()
    assert "will no longer be proposed as duplicates" in body
    assert dismiss not in body
    assert f"/panel/people/{c.pk}/merge/{d.pk}/" in body  # the other pair is still proposed
    assert [(p.older.pk, p.newer.pk) for p in duplicate_pairs().pairs] == [(c.pk, d.pk)]
    # Dismissing again, or in the other order, changes nothing.
    assert actions.duplicate_dismiss(person=b, other=a) is False
    # Both people are still there, untouched.
    assert Person.objects.filter(pk__in=[a.pk, b.pk]).count() == 2


def test_a_merge_keeps_the_dismissals_of_the_merged_person(in_alpha):
    a, b = _two_sharing_an_email()
    c = actions.person_create(first_name="Jean", last_name="Martin", email="c@example.org")
    actions.person_email_add(person=c, address="jean@example.org")
    actions.duplicate_dismiss(person=a, other=c)
    # b and c are the same person; merging c into b: a and b were never dismissed, a and c were.
    actions.person_merge(survivor=b, other=c)
    assert [(p.older.pk, p.newer.pk) for p in duplicate_pairs().pairs] == []


def test_dismissing_needs_edit_permission(in_alpha, viewer):
    a, b = _two_sharing_an_email()
    response = viewer.post(f"/panel/people/duplicates/{a.pk}/{b.pk}/dismiss/")
    assert response.status_code == 403
    assert [(p.older.pk, p.newer.pk) for p in duplicate_pairs().pairs] == [(a.pk, b.pk)]


def test_another_nation_cannot_dismiss_a_pair(alpha, bravo):
    from django_tenants.utils import schema_context

    from nations.people.models import DuplicateDismissal
    from tests.conftest import client_for

    with schema_context(bravo.nation.schema_name):
        a, b = _two_sharing_an_email()
    with schema_context(alpha.nation.schema_name):
        Person.objects.filter(pk__in=[a.pk, b.pk]).delete()
    attacker = client_for(alpha.host, alpha.owner, alpha.nation)
    assert attacker.post(f"/panel/people/duplicates/{a.pk}/{b.pk}/dismiss/").status_code == 404
    with schema_context(bravo.nation.schema_name):
        assert not DuplicateDismissal.objects.exists()
        assert [(p.older.pk, p.newer.pk) for p in duplicate_pairs().pairs] == [(a.pk, b.pk)]
