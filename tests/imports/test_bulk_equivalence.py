"""The bulk path (COPY + set-based SQL) gives exactly what person_upsert gives row by row:
the same rows go into alpha through the import and into bravo through person_upsert, and the
two nations' people, emails, phones, tags, consent history and timelines are compared."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import schema_context

from nations.imports.actions import cleaner_for
from nations.imports.models import Import
from nations.people.actions import Actor, consent_set, person_upsert
from nations.people.models import Activity, Person

from .conftest import run_file

pytestmark = pytest.mark.django_db

ROWS = (
    "first_name,last_name,email,phone,city,postal_code,country,birthdate,language,employer,"
    "support_level,external_id,tags,email_opt_in,sms_opt_in\n"
    # new people
    "Hélène,Dupont,helene@eq.fr,06 12 34 56 78,Lyon,69001,FR,02/05/1980,fr,Mairie,4,ext-1,"
    '"a, b",yes,\n'
    "Œdipe,Roi,oedipe@eq.fr,+44 7911 123456,Thèbes,,GB,,en,,,,b,no,yes\n"
    "Straße,Groß,strasse@eq.fr,,Berlin,10115,DE,,de,,1,,,,\n"
    # existing people (seeded below): fill or overwrite
    "Jean,Martin,jean@eq.fr,0698765432,Paris,75011,FR,,,Acme,2,ext-9,c,yes,\n"
    "Claire,Nouveau,claire@eq.fr,,Marseille,,FR,,,,,,a,yes,no\n"
    "Unsub,Scribed,unsub@eq.fr,,,,,,,,,,,yes,\n"
    "Other,Address,other-address@eq.fr,,Nice,,,,,,,,,,\n"
)


def seed() -> None:
    person_upsert(data={"first_name": "Jean", "city": "Lyon"}, email="jean@eq.fr", source="seed")
    claire, _ = person_upsert(
        data={"first_name": "Claire", "last_name": "Ancien", "employer": "Old"},
        email="claire@eq.fr",
        phone="0611223344",
        source="seed",
        tags=["a"],
    )
    unsub, _ = person_upsert(data={"first_name": "U"}, email="unsub@eq.fr", source="seed")
    consent_set(person=unsub, channel="email", status="withdrawn", source="unsubscribe")
    # Someone whose *second* address is in the file.
    from nations.people.actions import person_email_add

    other, _ = person_upsert(data={"last_name": "Main"}, email="main@eq.fr", source="seed")
    person_email_add(person=other, address="other-address@eq.fr")


def snapshot() -> list:
    people = []
    for p in Person.objects.filter(emails__address__endswith="@eq.fr").distinct().order_by("email"):
        people.append(
            {
                "fields": [
                    getattr(p, f)
                    for f in (
                        "first_name",
                        "middle_name",
                        "last_name",
                        "email",
                        "phone",
                        "address1",
                        "city",
                        "postal_code",
                        "country",
                        "birthdate",
                        "language",
                        "employer",
                        "support_level",
                        "external_id",
                        "email_consent",
                        "sms_consent",
                        "search_text",
                        "is_erased",
                        "points",
                    )
                ],
                "has_activity_time": p.last_activity_at is not None,
                "emails": list(p.emails.values_list("address", "is_primary", "status")),
                "phones": list(p.phones.values_list("number", "kind", "is_primary")),
                "tags": sorted(p.taggings.values_list("tag__name", flat=True)),
                "consents": sorted(
                    p.consent_changes.values_list("channel", "status", "source", "wording")
                ),
                "timeline": sorted(
                    (a.kind, a.summary, json.dumps(a.data, sort_keys=True))
                    for a in p.activities.all()
                ),
            }
        )
    return people


@pytest.mark.parametrize("on_match", ["fill", "overwrite"])
def test_the_bulk_import_and_person_upsert_agree(alpha, bravo, on_match):
    for nation in (alpha.nation, bravo.nation):
        with schema_context(nation.schema_name):
            seed()

    done = run_file(alpha.nation, ROWS.encode(), on_match=on_match)
    assert done.rejected == 0, done.reasons
    assert (done.created, done.updated) == (3, 4)

    # The reference: the same cleaned rows, one person_upsert each, in bravo.
    with schema_context(alpha.nation.schema_name):
        people_import = Import.objects.get(pk=done.pk)
        cleaner = cleaner_for(people_import)
        source = people_import.source
        summary = f"Imported from {people_import.original_name}"
    with schema_context(bravo.nation.schema_name):
        lines = ROWS.splitlines()
        import csv

        for number, cells in enumerate(csv.reader(lines[1:]), start=2):
            row = cleaner.clean(number, cells, len(people_import.headers))
            consents = {}
            if row.email_consent:
                consents["email"] = (row.email_consent, "")
            if row.sms_consent:
                consents["sms"] = (row.sms_consent, "")
            person_upsert(
                data=row.person_data(),
                email=row.email,
                phone=row.phone,
                source=source,
                actor=Actor(None, "test"),
                overwrite=on_match == "overwrite",
                tags=row.tags,
                consents=consents,
                activity_kind=Activity.Kind.IMPORTED,
                activity_summary=summary,
            )
        expected = snapshot()
    with schema_context(alpha.nation.schema_name):
        got = snapshot()
    assert len(got) == 7
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs
    # And the rules are the ones users rely on:
    by_email = {p["fields"][3]: p for p in got}
    assert by_email["unsub@eq.fr"]["fields"][14] == "withdrawn"  # never re-subscribed
    jean = by_email["jean@eq.fr"]["fields"]
    assert jean[6] == ("Paris" if on_match == "overwrite" else "Lyon")
    assert by_email["main@eq.fr"]["fields"][6] == "Nice"  # matched by a second address


def test_skip_leaves_existing_people_untouched(alpha):
    with schema_context(alpha.nation.schema_name):
        seed()
        before = snapshot()
    done = run_file(alpha.nation, ROWS.encode(), on_match="skip")
    assert (done.created, done.updated, done.skipped) == (3, 0, 4)
    with schema_context(alpha.nation.schema_name):
        after = {p["fields"][3]: p for p in snapshot()}
    for person in before:
        assert after[person["fields"][3]] == person
