"""Create (once) the demo nation, its staff login and a platform operator, and fill the nation
with a few thousand realistic people (French and English names, addresses in France and
elsewhere, tags, lists, consents, notes, calls, a history), so every screen has something to
show. Idempotent: a second run adds nothing.

The people go in through bulk inserts rather than person_upsert, one by one, which would take
minutes; the rows are the ones the actions would write (search text, primary email and phone
copies, consent history, timeline), so the panel cannot tell the difference."""

from __future__ import annotations

import random
import time
import unicodedata
from datetime import date, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from nations.people.actions import person_create
from nations.people.models import (
    Activity,
    ConsentChange,
    ContactLog,
    CustomField,
    ListMembership,
    Note,
    PeopleList,
    Person,
    PersonEmail,
    PersonPhone,
    Tag,
    Tagging,
)
from nations.people.normalise import search_text
from tenants.actions import Owner, nation_create
from tenants.models import Nation, User

DEMO_EMAIL = "demo@nations.localhost"
DEMO_PASSWORD = "demo-password-2026"
OPERATOR_EMAIL = "operator@nations.localhost"
OPERATOR_PASSWORD = "operator-password-2026"

PEOPLE = [
    ("Hélène", "Dupont", "helene.dupont@example.org"),
    ("Marc", "Lefèvre", "marc.lefevre@example.org"),
    ("Amina", "Diallo", "amina.diallo@example.org"),
    ("Jean", "Martin", "jean.martin@example.org"),
    ("Chloé", "Bernard", "chloe.bernard@example.org"),
]
DEMO_PEOPLE = 3000
# (Faker locale, country, language, share of the people)
LOCALES = [
    ("fr_FR", "FR", "fr", 0.62),
    ("fr_BE", "BE", "fr", 0.06),
    ("fr_CA", "CA", "fr", 0.04),
    ("en_GB", "GB", "en", 0.14),
    ("en_US", "US", "en", 0.08),
    ("en_IE", "IE", "en", 0.03),
    ("de_DE", "DE", "de", 0.03),
]
TAGS = [
    "volunteer",
    "donor",
    "canvasser",
    "newsletter",
    "phone bank",
    "member",
    "youth",
    "press",
    "elected official",
    "pétition eau potable",
    "rassemblement 2026",
    "local lead",
]
LISTS = [
    ("Phone bank — Lyon", "Callers for the spring campaign"),
    ("Event volunteers", "People who helped at an event"),
    ("Major donors", "Gave 250 € or more"),
    ("Press contacts", "Journalists and bloggers"),
]
PAGES = ["pétition eau potable", "Clean air petition", "Signup: newsletter", "Volunteer form"]
EVENTS = ["Rassemblement place Bellecour", "Town hall meeting", "Porte-à-porte Croix-Rousse"]
BLASTS = ["Lettre d'information — mars", "Spring appeal", "Invitation : meeting du 12"]
NOTES = [
    "Préfère être appelée le soir.",
    "Met at the farmers' market, keen to help with leaflets.",
    "A un vélo cargo, peut livrer les tracts.",
    "Asked about the housing policy — send the briefing.",
    "Ne souhaite pas être contactée le week-end.",
    "Former councillor, knows the neighbourhood well.",
]
WORDING = {
    "email": "J'accepte de recevoir des nouvelles par email. / I agree to receive news by email.",
    "sms": "J'accepte de recevoir des SMS. / I agree to receive text messages.",
}


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in ".-")).lower()


def _phone(rng: random.Random, country: str) -> str:
    if country == "FR":
        return f"+33{rng.choice('67')}{rng.randrange(10**8):08d}"
    if country == "BE":
        return f"+324{rng.choice('789')}{rng.randrange(10**7):07d}"
    if country in ("US", "CA"):
        return (
            f"+1{rng.choice(['202', '212', '415', '514', '617'])}555{rng.randrange(100, 200):04d}"
        )
    if country == "GB":
        return f"+447{rng.choice('3459')}{rng.randrange(10**8):08d}"
    return ""


class Command(BaseCommand):
    help = "Seed the demo nation and the operator account (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, default=DEMO_PEOPLE)

    def handle(self, *args, **options):
        if not User.objects.filter(email=OPERATOR_EMAIL).exists():
            User.objects.create_superuser(
                email=OPERATOR_EMAIL, password=OPERATOR_PASSWORD, full_name="Platform Operator"
            )
        nation = Nation.objects.filter(slug="demo").first()
        if nation is None:
            with transaction.atomic():
                nation = nation_create(
                    name="Demo Nation",
                    slug="demo",
                    country="FR",
                    language="fr",
                    owner=Owner(full_name="Demo Owner", email=DEMO_EMAIL, password=DEMO_PASSWORD),
                    # Big enough for the demo's few thousand people, so no limit banner shows.
                    plan="campaign",
                )
            self.stdout.write(self.style.SUCCESS("demo nation created"))
        with schema_context(nation.schema_name):
            if not Person.objects.filter(email=PEOPLE[0][2]).exists():
                for first, last, email in PEOPLE:
                    person_create(first_name=first, last_name=last, email=email)
            if not Person.objects.filter(external_id__startswith="demo-").exists():
                started = time.monotonic()
                count = seed_people(options["people"])
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{count} demo people seeded in {time.monotonic() - started:.1f} s"
                    )
                )


@transaction.atomic
def seed_people(count: int, *, seed: int = 2026) -> int:
    """`count` people with everything a profile shows; returns how many were added."""
    from faker import Faker

    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    fakers = {}
    for locale, *_rest in LOCALES:
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(seed)
    weights = [share for *_rest, share in LOCALES]
    now = timezone.now()
    _custom_fields()
    tags = {t.name: t for t in [Tag.objects.get_or_create(name=n)[0] for n in TAGS]}
    lists = [
        PeopleList.objects.get_or_create(name=name, defaults={"description": description})[0]
        for name, description in LISTS
    ]

    people: list[Person] = []
    emails_of: list[list[str]] = []
    for i in range(count):
        locale, country, language, _share = rng.choices(LOCALES, weights)[0]
        fake = fakers[locale]
        female = rng.random() < 0.52
        first = fake.first_name_female() if female else fake.first_name_male()
        last = fake.last_name()
        if i % 400 == 17 and people:  # a few near-twins for the duplicates page
            twin = people[-1]
            first, last = twin.first_name, twin.last_name.replace("t", "d", 1)
            country, language = twin.country, twin.language
        created = now - timedelta(days=rng.randrange(1, 3 * 365), minutes=rng.randrange(1440))
        address = {
            "address1": fake.street_address().replace("\n", ", ")[:200],
            "city": fake.city()[:100],
            "postal_code": fake.postcode()[:20],
            "country": country,
        }
        if i % 400 == 17 and people:
            address = {k: getattr(people[-1], k) for k in address}
        email = f"{_ascii(first)}.{_ascii(last)}{i}@example.{rng.choice(['org', 'net', 'com'])}"
        phone = _phone(rng, country) if rng.random() < 0.7 else ""
        person = Person(
            first_name=first[:100],
            last_name=last[:100],
            email=email,
            phone=phone,
            language=language,
            birthdate=date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 66))
            if rng.random() < 0.6
            else None,
            employer=fake.company()[:200] if rng.random() < 0.5 else "",
            occupation=fake.job()[:200] if rng.random() < 0.5 else "",
            support_level=rng.choice([1, 1, 2, 2, 2, 3, 3, 4, 5]) if rng.random() < 0.7 else None,
            social={"x": f"@{_ascii(first)}{_ascii(last)[:6]}"} if rng.random() < 0.15 else {},
            custom=_custom_values(rng, created),
            external_id=f"demo-{i:05d}",
            email_consent=rng.choices(["granted", "withdrawn", "unknown"], [60, 8, 32])[0],
            sms_consent=rng.choices(["granted", "withdrawn", "unknown"], [30, 4, 66])[0]
            if phone
            else "unknown",
            created_at=created,
            updated_at=created,
            **address,
        )
        if rng.random() < 0.2:
            person.donations_count = rng.randrange(1, 12)
            person.donations_total = person.donations_count * rng.choice([1000, 2500, 5000, 10000])
            person.first_donation_at = created + timedelta(days=rng.randrange(0, 30))
            person.last_donation_at = person.first_donation_at + timedelta(
                days=rng.randrange(0, max(1, (now - person.first_donation_at).days))
            )
        person.search_text = search_text(
            first_name=person.first_name,
            last_name=person.last_name,
            emails=[email],
            phones=[phone] if phone else [],
        )
        people.append(person)
        emails_of.append([email])
    Person.objects.bulk_create(people, batch_size=1000)

    emails, phones, taggings, memberships, notes, calls, consents, activities = (
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
    )
    staff = ["Demo Owner", "Camille (bénévole)", "Sam (field team)"]
    recruited: list[tuple[int, int]] = []
    for index, person in enumerate(people):
        at = person.created_at
        source = rng.choice(["import:demo", "page:pétition eau potable", "panel", "page:signup"])
        history = [
            Activity(person=person, kind="created", summary=source, data={"source": source}, at=at)
        ]
        emails.append(
            PersonEmail(person=person, address=person.email, is_primary=True, created_at=at)
        )
        if person.phone:
            kind = (
                "mobile"
                if person.phone[:4] in ("+336", "+337") or person.country != "FR"
                else "landline"
            )
            phones.append(
                PersonPhone(
                    person=person, number=person.phone, kind=kind, is_primary=True, created_at=at
                )
            )
        for channel, field in (("email", "email_consent"), ("sms", "sms_consent")):
            status = getattr(person, field)
            if status == "unknown":
                continue
            granted_at = at + timedelta(minutes=1)
            consents.append(
                ConsentChange(
                    person=person,
                    channel=channel,
                    status="granted",
                    source=source,
                    wording=WORDING[channel],
                    at=granted_at,
                )
            )
            history.append(
                Activity(
                    person=person,
                    kind="consent",
                    summary=f"{channel}: granted",
                    data={"channel": channel, "status": "granted", "source": source},
                    at=granted_at,
                )
            )
            if status == "withdrawn":
                gone = granted_at + timedelta(days=rng.randrange(1, 300))
                consents.append(
                    ConsentChange(
                        person=person,
                        channel=channel,
                        status="withdrawn",
                        source="unsubscribe",
                        at=gone,
                    )
                )
                history.append(
                    Activity(
                        person=person,
                        kind="unsubscribed",
                        summary=channel,
                        data={"channel": channel},
                        at=gone,
                    )
                )
        for tag_name in rng.sample(TAGS, k=rng.choice([0, 1, 1, 2, 2, 3])):
            when = at + timedelta(days=rng.randrange(0, 60))
            taggings.append(Tagging(person=person, tag=tags[tag_name], created_at=when))
            history.append(Activity(person=person, kind="tagged", summary=tag_name, at=when))
        if rng.random() < 0.12:
            people_list = rng.choice(lists)
            when = at + timedelta(days=rng.randrange(0, 90))
            memberships.append(
                ListMembership(people_list=people_list, person=person, created_at=when)
            )
            history.append(
                Activity(person=person, kind="listed", summary=people_list.name, at=when)
            )
        for _n in range(rng.choice([0, 1, 2, 3, 4])):
            when = at + timedelta(days=rng.randrange(0, 400))
            kind, summary = rng.choice(
                [
                    ("signed", rng.choice(PAGES)),
                    ("rsvp", rng.choice(EVENTS)),
                    ("email_sent", rng.choice(BLASTS)),
                    ("email_opened", rng.choice(BLASTS)),
                    ("email_clicked", rng.choice(BLASTS)),
                ]
            )
            history.append(Activity(person=person, kind=kind, summary=summary, at=when))
        if person.donations_count:
            history.append(
                Activity(
                    person=person,
                    kind="donated",
                    summary=f"{person.donations_total // person.donations_count / 100:.2f} €",
                    at=person.last_donation_at,
                )
            )
        if rng.random() < 0.08:
            when = at + timedelta(days=rng.randrange(0, 200))
            author = rng.choice(staff)
            body = rng.choice(NOTES)
            notes.append(Note(person=person, body=body, author_name=author, created_at=when))
            history.append(
                Activity(person=person, kind="note", summary=body[:120], actor_name=author, at=when)
            )
        if person.phone and rng.random() < 0.1:
            when = at + timedelta(days=rng.randrange(0, 200))
            author = rng.choice(staff)
            method, outcome = "call", rng.choice([c for c, _l in ContactLog.Outcome.choices])
            calls.append(
                ContactLog(
                    person=person,
                    method=method,
                    outcome=outcome,
                    author_name=author,
                    notes=rng.choice(["", "Rappeler jeudi", "Will come on Saturday"]),
                    at=when,
                )
            )
            label = dict(ContactLog.Outcome.choices)[outcome]
            history.append(
                Activity(
                    person=person,
                    kind="contact",
                    summary=f"Phone call: {label}",
                    actor_name=author,
                    at=when,
                )
            )
        if index > 20 and rng.random() < 0.06:
            recruited.append((person.pk, people[rng.randrange(0, index)].pk))
        history = [a for a in history if a.at <= now]
        person.last_activity_at = max(a.at for a in history)
        activities += history
    for model, rows in (
        (PersonEmail, emails),
        (PersonPhone, phones),
        (Tagging, taggings),
        (ListMembership, memberships),
        (Note, notes),
        (ContactLog, calls),
        (ConsentChange, consents),
        (Activity, activities),
    ):
        model.objects.bulk_create(
            rows, batch_size=2000, ignore_conflicts=model in (PersonEmail, PersonPhone)
        )
    Person.objects.bulk_update(people, ["last_activity_at"], batch_size=1000)
    by_id = {p.pk: p for p in people}
    for recruit_id, recruiter_id in recruited:
        by_id[recruit_id].recruiter_id = recruiter_id
        by_id[recruiter_id].points += 1
    Person.objects.bulk_update(people, ["recruiter", "points"], batch_size=1000)
    return len(people)


def _custom_fields() -> None:
    for position, (slug, label, kind, choices) in enumerate(
        [
            ("membership_number", "Membership number", "number", []),
            ("tshirt_size", "T-shirt size", "choice", ["XS", "S", "M", "L", "XL"]),
            ("joined_on", "Joined on", "date", []),
            ("constituency", "Constituency", "text", []),
        ]
    ):
        CustomField.objects.get_or_create(
            slug=slug,
            defaults={"label": label, "kind": kind, "choices": choices, "position": position},
        )


def _custom_values(rng: random.Random, created) -> dict:
    values = {}
    if rng.random() < 0.3:
        values["membership_number"] = rng.randrange(1000, 99999)
        values["joined_on"] = created.date().isoformat()
    if rng.random() < 0.2:
        values["tshirt_size"] = rng.choice(["XS", "S", "M", "L", "XL"])
    if rng.random() < 0.25:
        values["constituency"] = rng.choice(["Rhône 1", "Rhône 3", "Paris 11", "Gironde 2"])
    return values
