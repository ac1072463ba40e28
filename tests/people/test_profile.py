"""A person's profile: what it shows, and every edit made from it, with its audit trail."""

from __future__ import annotations

import pytest

from nations.people import actions
from nations.people.models import (
    Activity,
    ContactLog,
    CustomField,
    Note,
    Person,
    PersonEmail,
    PersonPhone,
    Tagging,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def helene(in_alpha):
    return actions.person_create(
        first_name="Hélène", last_name="Dupont", email="helene@example.org", phone="0612345678"
    )


def test_profile_shows_the_person(helene, owner):
    actions.person_update(
        person=helene,
        changes={"city": "Lyon", "postal_code": "69001", "support_level": 2, "employer": "SNCF"},
    )
    body = owner.get(f"/panel/people/{helene.pk}/").content.decode()
    for text in ("Hélène Dupont", "helene@example.org", "+33612345678", "69001 Lyon", "SNCF"):
        assert text in body


def test_edit_records_old_and_new_values_on_the_timeline(helene, owner):
    response = owner.post(
        f"/panel/people/{helene.pk}/edit/",
        {
            "first_name": "Hélène",
            "last_name": "Dupond",
            "city": "Lille",
            "country": "fr",
            "support_level": "1",
            "social_x": "@helene",
        },
    )
    assert response.status_code == 302
    helene.refresh_from_db()
    assert (helene.last_name, helene.city, helene.country, helene.support_level) == (
        "Dupond",
        "Lille",
        "FR",
        1,
    )
    assert helene.social == {"x": "@helene"}
    entry = helene.activities.filter(kind=Activity.Kind.UPDATED).latest("id")
    assert entry.actor_name == "Owner Alpha"
    assert entry.data["changes"]["last_name"] == ["Dupont", "Dupond"]
    body = owner.get(f"/panel/people/{helene.pk}/").content.decode()
    assert "by Owner Alpha" in body
    assert "<del>Dupont</del> → <ins>Dupond</ins>" in body
    # The search follows the new name.
    assert "dupond" in Person.objects.get(pk=helene.pk).search_text


def test_edit_rejects_a_bad_country_and_keeps_what_was_typed(helene, owner):
    response = owner.post(
        f"/panel/people/{helene.pk}/edit/", {"first_name": "Typed", "country": "France"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "two-letter country code" in body and 'value="Typed"' in body
    helene.refresh_from_db()
    assert helene.first_name == "Hélène"


def test_emails_add_primary_remove(helene, owner):
    url = f"/panel/people/{helene.pk}/emails/"
    assert owner.post(url, {"action": "add", "address": " Work@Example.ORG "}).status_code == 302
    work = PersonEmail.objects.get(person=helene, address="work@example.org")
    assert not work.is_primary
    owner.post(url, {"action": "primary", "id": work.pk})
    helene.refresh_from_db()
    assert helene.email == "work@example.org"
    assert list(helene.emails.filter(is_primary=True).values_list("address", flat=True)) == [
        "work@example.org"
    ]
    owner.post(url, {"action": "remove", "id": work.pk})
    helene.refresh_from_db()
    assert helene.email == "helene@example.org"
    assert helene.emails.get().is_primary
    changes = [a.data["changes"] for a in helene.activities.filter(kind="updated")]
    assert {"email": ["helene@example.org", "work@example.org"]} in changes


def test_an_invalid_email_says_so(helene, owner):
    response = owner.post(
        f"/panel/people/{helene.pk}/emails/", {"action": "add", "address": "not-an-email"}
    )
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert helene.emails.count() == 1


def test_phones_are_stored_in_e164_and_bad_ones_refused(helene, owner):
    url = f"/panel/people/{helene.pk}/phones/"
    owner.post(url, {"action": "add", "number": "01 42 68 53 00", "make_primary": "on"})
    helene.refresh_from_db()
    assert helene.phone == "+33142685300"
    assert PersonPhone.objects.get(person=helene, number="+33142685300").kind == "landline"
    response = owner.post(url, {"action": "add", "number": "12"})
    assert response.status_code == 400
    assert "Enter a valid phone number" in response.content.decode()
    other = PersonPhone.objects.get(person=helene, number="+33612345678")
    owner.post(url, {"action": "primary", "id": other.pk})
    helene.refresh_from_db()
    assert helene.phone == "+33612345678"


def test_tags_added_and_removed_with_htmx(helene, owner):
    url = f"/panel/people/{helene.pk}/tags/"
    response = owner.post(url, {"name": "  volunteer  "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("<section") and "volunteer" in body
    assert "<html" not in body
    assert list(Tagging.objects.filter(person=helene).values_list("tag__name", flat=True)) == [
        "volunteer"
    ]
    response = owner.post(url, {"name": "volunteer", "action": "remove"}, HTTP_HX_REQUEST="true")
    assert "No tags yet." in response.content.decode()
    assert not Tagging.objects.filter(person=helene).exists()
    kinds = list(helene.activities.values_list("kind", flat=True))
    assert "tagged" in kinds and "untagged" in kinds
    # Without htmx, back to the profile.
    assert owner.post(url, {"name": "donor"}).status_code == 302


def test_notes_and_contact_log(helene, owner):
    owner.post(f"/panel/people/{helene.pk}/notes/", {"body": "Met at the market."})
    owner.post(
        f"/panel/people/{helene.pk}/contacts/",
        {"method": "call", "outcome": "no_answer", "notes": "Try Sunday"},
    )
    note = Note.objects.get(person=helene)
    assert note.author_name == "Owner Alpha"
    log = ContactLog.objects.get(person=helene)
    assert (log.method, log.outcome, log.author_name) == ("call", "no_answer", "Owner Alpha")
    body = owner.get(f"/panel/people/{helene.pk}/").content.decode()
    assert "Met at the market." in body and "Try Sunday" in body and "No answer" in body
    assert owner.post(f"/panel/people/{helene.pk}/notes/", {"body": "  "}).status_code == 400


def test_consent_shows_status_source_date_and_wording(helene, owner):
    actions.consent_set(
        person=helene,
        channel="email",
        status="granted",
        source="page:petition-eau",
        wording="I agree to receive news by email.",
    )
    body = owner.get(f"/panel/people/{helene.pk}/").content.decode()
    assert "page:petition-eau" in body and "I agree to receive news by email." in body
    assert 'class="badge badge-granted"' in body
    # Staff record a withdrawal; they cannot grant it back.
    owner.post(
        f"/panel/people/{helene.pk}/consent/",
        {"channel": "email", "status": "withdrawn", "wording": "Said stop on the phone"},
    )
    helene.refresh_from_db()
    assert helene.email_consent == "withdrawn"
    owner.post(f"/panel/people/{helene.pk}/consent/", {"channel": "email", "status": "granted"})
    helene.refresh_from_db()
    assert helene.email_consent == "withdrawn"


def test_custom_fields_of_each_kind_are_validated_and_typed(helene, owner):
    for label, kind, choices in (
        ("Member number", "number", ""),
        ("Joined on", "date", ""),
        ("Shirt size", "choice", "S\nM\nL"),
        ("Constituency", "text", ""),
    ):
        response = owner.post(
            "/panel/people/custom-fields/", {"label": label, "kind": kind, "choices_text": choices}
        )
        assert response.status_code == 302, response.content.decode()
    slugs = dict(CustomField.objects.values_list("label", "slug"))
    assert slugs["Member number"] == "member_number"
    url = f"/panel/people/{helene.pk}/edit/"
    base = {"first_name": "Hélène", "last_name": "Dupont"}
    response = owner.post(
        url,
        {
            **base,
            "custom_member_number": "abc",
            "custom_joined_on": "31/02/2020",
            "custom_shirt_size": "XXL",
        },
    )
    body = response.content.decode()
    assert "Enter a number." in body
    assert "Enter a valid date" in body
    assert "Select a valid choice" in body or "Pick one of the choices" in body
    helene.refresh_from_db()
    assert helene.custom == {}
    owner.post(
        url,
        {
            **base,
            "custom_member_number": "1 234",
            "custom_joined_on": "2020-02-29",
            "custom_shirt_size": "M",
            "custom_constituency": " Rhône 3 ",
        },
    )
    helene.refresh_from_db()
    assert helene.custom == {
        "member_number": 1234,
        "joined_on": "2020-02-29",
        "shirt_size": "M",
        "constituency": "Rhône 3",
    }
    body = owner.get(f"/panel/people/{helene.pk}/").content.decode()
    assert "Shirt size" in body and "Rhône 3" in body
    # Clearing a value removes it; deleting the field removes it from everyone.
    owner.post(url, {**base, "custom_member_number": "", "custom_joined_on": "2020-02-29"})
    helene.refresh_from_db()
    assert "member_number" not in helene.custom and "shirt_size" not in helene.custom
    field = CustomField.objects.get(slug="joined_on")
    owner.post(f"/panel/people/custom-fields/{field.pk}/delete/")
    helene.refresh_from_db()
    assert "joined_on" not in helene.custom


def test_a_choice_field_needs_choices(in_alpha, owner):
    response = owner.post(
        "/panel/people/custom-fields/", {"label": "Size", "kind": "choice", "choices_text": ""}
    )
    assert response.status_code == 400
    assert "needs at least one choice" in response.content.decode()


def test_add_a_person_by_hand(in_alpha, owner):
    response = owner.post(
        "/panel/people/new/",
        {"first_name": "Jean", "last_name": "Martin", "email": "jean@example.org"},
    )
    person = Person.objects.get(email="jean@example.org")
    assert response["Location"] == f"/panel/people/{person.pk}/"
    assert person.activities.get().actor_name == "Owner Alpha"
    # The same email again: the existing profile, not a twin.
    response = owner.post("/panel/people/new/", {"email": "JEAN@example.org"})
    assert response["Location"] == f"/panel/people/{person.pk}/"
    assert Person.objects.filter(email="jean@example.org").count() == 1
    response = owner.post("/panel/people/new/", {"email": "nope", "phone": "123"})
    body = response.content.decode()
    assert "Enter a valid email address." in body and "Enter a valid phone number" in body
    assert "at least a name" in owner.post("/panel/people/new/", {}).content.decode()


def test_recruiter_and_recruits_are_shown(in_alpha, owner):
    boss = actions.person_create(first_name="Boss", last_name="One")
    recruit, _ = actions.person_upsert(
        data={"first_name": "New", "last_name": "Recruit"}, source="test", recruiter=boss
    )
    body = owner.get(f"/panel/people/{recruit.pk}/").content.decode()
    assert f'href="/panel/people/{boss.pk}/">Boss One</a>' in body
    body = owner.get(f"/panel/people/{boss.pk}/").content.decode()
    assert "Recruited New Recruit" in body


def test_view_only_staff_cannot_change_anything(helene, viewer):
    assert viewer.get(f"/panel/people/{helene.pk}/").status_code == 200
    posts = {
        "edit/": {"first_name": "X"},
        "emails/": {"action": "add", "address": "x@example.org"},
        "phones/": {"action": "add", "number": "0611111111"},
        "tags/": {"name": "x"},
        "notes/": {"body": "x"},
        "contacts/": {"method": "call", "outcome": "reached"},
        "consent/": {"channel": "sms", "status": "withdrawn"},
    }
    for path, data in posts.items():
        assert viewer.post(f"/panel/people/{helene.pk}/{path}", data).status_code == 403, path
    assert viewer.get("/panel/people/new/").status_code == 403
    assert viewer.get("/panel/people/custom-fields/").status_code == 403
    helene.refresh_from_db()
    assert helene.first_name == "Hélène" and helene.emails.count() == 1
    body = viewer.get(f"/panel/people/{helene.pk}/").content.decode()
    assert f"/panel/people/{helene.pk}/edit/" not in body


def test_points_for_actions_taken(in_alpha, owner):
    from nations.people.actions import activity_record, person_upsert
    from nations.people.models import Activity

    person, _ = person_upsert(data={"first_name": "Pia"}, email="pia@example.org", source="t")
    assert person.points == 0  # added by staff or an import: nothing earned
    for kind, data in (
        (Activity.Kind.SIGNED, {"source": "page:river"}),
        (Activity.Kind.RSVP, {"source": "page:meetup"}),
        (Activity.Kind.DONATED, {"donation": 1}),
        (Activity.Kind.OTHER, {"source": "page:volunteer"}),  # volunteered on a page
        (Activity.Kind.NOTE, {"note": 1}),  # staff wrote a note: no point
        (Activity.Kind.TAGGED, {}),
    ):
        activity_record(person=person, kind=kind, data=data)
    person.refresh_from_db()
    assert person.points == 4
    # A new person whose first action is a signature starts with its point.
    signer, _ = person_upsert(
        data={"first_name": "Sam"},
        email="sam@example.org",
        source="page:river",
        activity_kind=Activity.Kind.SIGNED,
    )
    signer.refresh_from_db()
    assert signer.points == 1
