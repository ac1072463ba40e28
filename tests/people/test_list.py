"""The people list: search, sorting, pages, selection, empty states."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from nations.people import actions
from nations.people.models import Person
from nations.people.normalise import search_text
from nations.people.views import profile

pytestmark = pytest.mark.django_db


def _names(response) -> list[str]:
    body = response.content.decode()
    return re.findall(r'<a href="/panel/people/\d+/">([^<]+)</a>', body)


def _person(first, last, email="", **extra) -> Person:
    return Person.objects.create(
        first_name=first,
        last_name=last,
        email=email,
        search_text=search_text(first_name=first, last_name=last, emails=[email] if email else []),
        **extra,
    )


def test_search_ignores_accents_and_tolerates_typos(in_alpha, owner):
    actions.person_create(first_name="Hélène", last_name="Dupont", email="hd@example.org")
    actions.person_create(first_name="Marc", last_name="Lefèvre", email="ml@example.org")
    for query in ("Helene", "hélène", "HELENE dupont", "Helen Dupond", "hd@example.org"):
        names = _names(owner.get("/panel/people/", {"q": query}))
        assert names == ["Hélène Dupont"], query
    assert _names(owner.get("/panel/people/", {"q": "lefevre"})) == ["Marc Lefèvre"]


def test_search_by_phone_in_local_form(in_alpha, owner):
    actions.person_create(first_name="Amina", last_name="Diallo", phone="+33698765432")
    assert _names(owner.get("/panel/people/", {"q": "06 98 76 54 32"})) == ["Amina Diallo"]


def test_a_search_that_finds_nobody_says_so(in_alpha, owner):
    response = owner.get("/panel/people/", {"q": "zzzzqqqq"})
    assert response.status_code == 200
    assert "Nobody matches this search" in response.content.decode()


def test_sorting_by_name_email_support_both_ways(in_alpha, owner):
    Person.objects.all().delete()
    _person("Zoé", "Abel", "z@example.org", support_level=2)
    _person("Anne", "Martin", "a@example.org", support_level=None)
    _person("Bruno", "Martin", "b@example.org", support_level=5)
    get = lambda sort: _names(owner.get("/panel/people/", {"sort": sort}))  # noqa: E731
    assert get("name") == ["Zoé Abel", "Anne Martin", "Bruno Martin"]
    assert get("-name") == ["Bruno Martin", "Anne Martin", "Zoé Abel"]
    assert get("email") == ["Anne Martin", "Bruno Martin", "Zoé Abel"]
    # An empty support level counts as the lowest, in both directions.
    assert get("support") == ["Anne Martin", "Zoé Abel", "Bruno Martin"]
    assert get("-support") == ["Bruno Martin", "Zoé Abel", "Anne Martin"]
    # A sort key that is not offered is ignored (never passed to ORDER BY).
    assert owner.get("/panel/people/", {"sort": "search_text"}).status_code == 200
    assert owner.get("/panel/people/", {"sort": "-password"}).status_code == 200


def test_sort_by_last_activity_and_created(in_alpha, owner):
    Person.objects.all().delete()
    now = timezone.now()
    _person("Old", "One", created_at=now - timedelta(days=3), last_activity_at=now)
    _person("New", "One", created_at=now, last_activity_at=now - timedelta(days=1))
    _person("Quiet", "One", created_at=now - timedelta(days=1), last_activity_at=None)
    assert _names(owner.get("/panel/people/")) == ["New One", "Quiet One", "Old One"]
    assert _names(owner.get("/panel/people/", {"sort": "-activity"})) == [
        "Old One",
        "New One",
        "Quiet One",
    ]


def test_pages_are_stable_and_complete(in_alpha, owner):
    Person.objects.all().delete()
    now = timezone.now()
    # Equal sort values: the id tiebreak keeps every page distinct.
    Person.objects.bulk_create(
        [Person(first_name=f"P{i:03d}", last_name="Same", created_at=now) for i in range(120)]
    )
    seen = []
    for page in (1, 2, 3):
        response = owner.get("/panel/people/", {"page": page})
        names = _names(response)
        seen += names
        body = response.content.decode()
        assert ('rel="next"' in body) == (page < 3)
    assert len(seen) == 120 and len(set(seen)) == 120
    assert "1–50 of 120" in owner.get("/panel/people/").content.decode()
    past = owner.get("/panel/people/", {"page": 9}).content.decode()
    assert "No more people" in past


def test_big_tables_show_an_estimate_instead_of_counting(in_alpha, owner, monkeypatch):
    Person.objects.bulk_create([Person(first_name=f"E{i}") for i in range(30)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE people_person")
    monkeypatch.setattr(profile, "EXACT_COUNT_BELOW", 10)
    body = owner.get("/panel/people/").content.decode()
    assert re.search(r"1–\d+ of about \d+", body)


def test_search_counts_are_capped(in_alpha, owner, monkeypatch):
    Person.objects.bulk_create(
        [Person(first_name="Capped", search_text=f"capped {i}") for i in range(8)]
    )
    monkeypatch.setattr(profile, "FILTERED_COUNT_CAP", 5)
    body = owner.get("/panel/people/", {"q": "capped"}).content.decode()
    assert "of 5+" in body


def test_selection_posts_person_ids_to_the_bulk_actions(in_alpha, owner, viewer):
    person = actions.person_create(first_name="Sel", last_name="Ected")
    body = owner.get("/panel/people/").content.decode()
    assert 'id="people-selection"' in body
    assert 'action="/panel/people/bulk/"' in body
    assert f'name="person" value="{person.pk}"' in body
    # Someone who may only look gets no selection (bulk actions change people).
    assert 'name="person"' not in viewer.get("/panel/people/").content.decode()


def test_empty_nation_says_what_to_do(in_alpha, owner):
    Person.objects.all().delete()
    body = owner.get("/panel/people/").content.decode()
    assert "No people yet" in body and "/panel/people/new/" in body


def test_erased_people_are_not_listed(in_alpha, owner):
    person = actions.person_create(first_name="Gone", last_name="Soon", email="gone@example.org")
    actions.person_erase(person=person)
    assert f"/panel/people/{person.pk}/" not in owner.get("/panel/people/").content.decode()
