"""A nation full of realistic people, fast: `generate_people(schema, 1_000_000)`.

French and English names (with accents), emails, E.164 phones, cities with postal codes and
regions in France, the UK, Belgium and Canada, languages, support levels, consents, created
dates spread over six years, donation aggregates, ~10 tags with a skewed distribution, a few
static lists, and PersonEmail/PersonPhone rows for the primary email and phone. `search_text`
is exactly what nations.people.normalise.search_text gives (tests/segments checks a sample).

People go in with COPY (secondary indexes dropped first and rebuilt after, as a bulk load
should); tags, lists, emails and phones are set-based INSERT ... SELECT; then ANALYZE. The same
seed gives the same people. Used by the segment, search, import and merge benchmarks.
"""

from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime, timedelta

from django.db import connection
from django_tenants.utils import schema_context

from nations.people.normalise import fold


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FR_FIRST = _words(
    "Hélène Camille Léa Chloé Zoé Manon Inès Sarah Emma Louise Jeanne Alice Juliette Anaïs Cécile "
    "Élodie Gaëlle Amélie Noémie Mathilde Claire Margaux Océane Maëlle Sophie Nathalie Isabelle "
    "Sylvie Françoise Brigitte Lucas Hugo Louis Jules Gabriel Raphaël Arthur Léo Théo Nathan "
    "Thomas Nicolas Julien Antoine Maxime Jérôme François Stéphane Frédéric Sébastien Benoît "
    "Cédric Rémi Loïc Gaël Aurélien Mathéo Noé Timothée Côme Baptiste Pierre Paul Jean Michel"
)
EN_FIRST = _words(
    "Oliver George Harry Jack Charlie Thomas James William Henry Noah Olivia Amelia Isla Ava "
    "Emily Sophia Grace Lily Freya Mia Ella Charlotte Jessica Hannah Daniel Matthew Samuel "
    "Joseph David Michael Sarah Emma Laura Rachel Rebecca Katherine Andrew Christopher Ryan Liam"
)
FR_LAST = _words(
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefèvre "
    "Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier Dupont Lambert "
    "Bonnet François Martinez Legrand Garnier Faure Rousseau Blanc Guérin Muller Henry Roussel "
    "Nicolas Perrin Morin Mathieu Clément Gauthier Dumont Lopez Fontaine Chevalier Robin Masson "
    "Sanchez Gérard Nguyen Boyer Denis Lemaire Duval Joly Gautier Roger Roche Roy Noël Meyer "
    "Lucas Meunier Jean Pérez Marchand Dufour Blanchard Marie Barbier Brun Dumas Brunet Schmitt "
    "Leroux Colin Fernandez Pierre Renard Arnaud Rolland Caron Aubert Giraud Leclerc Vidal "
    "Bourgeois Renaud Lemoine Picard Gaillard Philippe Leclercq Lacroix Fabre Dupuis Olivier "
    "Rodriguez Da-Silva Hubert Louis Charles Guillot Rivière Le-Gall Guillaume Adam Rey Moulin "
    "Gonzalez Berger Lecomte Ménard Fleury Deschamps Carpentier Julien Benoît Paris Maillard "
    "Marchal Aubry Vasseur Le-Roux Renault Jacquet Collet Prévost Poirier Charpentier Royer "
    "Huet Baron Dupuy Pons Paul Laine Carré Breton Rémy Schneider Perrot Guyot Barre Marty Cousin"
)
EN_LAST = _words(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis James Phillips Mason "
    "Mitchell Rose Davis Rodriguez Cox Alexander Morgan Hughes Edwards Hill Moore Clark Harris "
    "Scott Young Turner Cooper Ward Morris King Watson Baker Harrison Bell Murphy Kelly"
)
# (city, postal prefix, digits after it, region, country, weight)
PLACES = (
    ("Paris", "75", 3, "Île-de-France", "FR", 18),
    ("Lyon", "69", 3, "Auvergne-Rhône-Alpes", "FR", 7),
    ("Marseille", "13", 3, "Provence-Alpes-Côte d'Azur", "FR", 7),
    ("Toulouse", "31", 3, "Occitanie", "FR", 5),
    ("Nantes", "44", 3, "Pays de la Loire", "FR", 4),
    ("Lille", "59", 3, "Hauts-de-France", "FR", 4),
    ("Bordeaux", "33", 3, "Nouvelle-Aquitaine", "FR", 4),
    ("Strasbourg", "67", 3, "Grand Est", "FR", 3),
    ("Rennes", "35", 3, "Bretagne", "FR", 3),
    ("Montpellier", "34", 3, "Occitanie", "FR", 3),
    ("Nice", "06", 3, "Provence-Alpes-Côte d'Azur", "FR", 3),
    ("Grenoble", "38", 3, "Auvergne-Rhône-Alpes", "FR", 2),
    ("Saint-Étienne", "42", 3, "Auvergne-Rhône-Alpes", "FR", 2),
    ("Montreuil", "93", 3, "Île-de-France", "FR", 3),
    ("Versailles", "78", 3, "Île-de-France", "FR", 2),
    ("Brest", "29", 3, "Bretagne", "FR", 1),
    ("Dijon", "21", 3, "Bourgogne-Franche-Comté", "FR", 1),
    ("Besançon", "25", 3, "Bourgogne-Franche-Comté", "FR", 1),
    ("London", "SW1", 0, "England", "GB", 6),
    ("Manchester", "M1", 0, "England", "GB", 2),
    ("Bristol", "BS1", 0, "England", "GB", 1),
    ("Bruxelles", "10", 2, "Bruxelles-Capitale", "BE", 3),
    ("Liège", "40", 2, "Wallonie", "BE", 1),
    ("Montréal", "H2", 0, "Québec", "CA", 3),
    ("Genève", "12", 2, "Genève", "CH", 1),
)
DOMAINS = (
    "gmail.com",
    "orange.fr",
    "free.fr",
    "yahoo.fr",
    "hotmail.com",
    "outlook.fr",
    "laposte.net",
    "sfr.fr",
    "wanadoo.fr",
    "protonmail.com",
    "icloud.com",
)
TAGS = (  # name, share of people
    ("volunteer", 0.30),
    ("donor", 0.15),
    ("newsletter", 0.45),
    ("petition-climat", 0.20),
    ("member", 0.08),
    ("canvasser", 0.04),
    ("event-2025", 0.06),
    ("press", 0.005),
    ("elected", 0.002),
    ("vip", 0.001),
)
LISTS = (("Phone bank", 0.02), ("Volunteers Saturday", 0.01), ("Board", 0.00005))
EMPLOYERS = ("", "", "", "", "Mairie", "SNCF", "La Poste", "Hôpital", "Université", "Orange")
OCCUPATIONS = ("", "", "", "Enseignant", "Infirmière", "Ingénieur", "Retraité", "Étudiant")
CONSENT = ("granted", "withdrawn", "unknown")

PERSON_COLUMNS = (
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "phone",
    "address1",
    "address2",
    "city",
    "postal_code",
    "region",
    "country",
    "birthdate",
    "language",
    "employer",
    "occupation",
    "social",
    "support_level",
    "custom",
    "points",
    "email_consent",
    "sms_consent",
    "phone_consent",
    "post_consent",
    "donations_count",
    "donations_total",
    "first_donation_at",
    "last_donation_at",
    "search_text",
    "is_erased",
    "created_at",
    "updated_at",
    "last_activity_at",
)
CHUNK = 50_000
NULL = r"\N"


def _ascii(name: str) -> str:
    return fold(name).replace(" ", "").replace("'", "")


def _person_rows(count: int, rng: random.Random, start: datetime) -> io.StringIO:
    """Yield one COPY text buffer per CHUNK people."""
    fr_first = [(n, fold(n), _ascii(n)) for n in FR_FIRST]
    en_first = [(n, fold(n), _ascii(n)) for n in EN_FIRST]
    fr_last = [(n.replace("-", " "), fold(n.replace("-", " ")), _ascii(n)) for n in FR_LAST]
    en_last = [(n, fold(n), _ascii(n)) for n in EN_LAST]
    places = [p for p in PLACES for _ in range(p[5])]
    span = 6 * 365 * 86400
    now = start + timedelta(seconds=span)
    choice, random_ = rng.choice, rng.random
    lines: list[str] = []
    for i in range(count):
        city, prefix, digits, region, country, _w = choice(places)
        english = country in ("GB",) or (country == "CA" and random_() < 0.3) or random_() < 0.08
        first, first_f, first_a = choice(en_first if english else fr_first)
        last, last_f, last_a = choice(en_last if english else fr_last)
        if random_() < 0.9:
            sep = choice((".", "", "_", "-"))
            email = f"{first_a}{sep}{last_a}{i}@{choice(DOMAINS)}"
        else:
            email = ""
        if random_() < 0.7:
            phone = f"+33{6 + (i & 1)}{i:08d}"
            phone_text = f" {phone[1:]} 0{phone[3:]}"
        else:
            phone, phone_text = "", ""
        search = f"{first_f} {last_f}" + (f" {email}" if email else "") + phone_text
        if digits:
            postal = prefix + str(rng.randrange(10**digits)).zfill(digits)
        else:
            postal = f"{prefix} {rng.randrange(1, 9)}AA"
        created = start + timedelta(seconds=int(random_() ** 0.7 * span))
        updated = created + timedelta(seconds=int(random_() * (now - created).total_seconds()))
        active = (
            (
                created + timedelta(seconds=int(random_() * (now - created).total_seconds()))
            ).isoformat()
            if random_() < 0.7
            else NULL
        )
        r = random_()
        support = NULL if r < 0.4 else str(1 + int((r - 0.4) / 0.12))
        gifts = 0
        total = 0
        first_gift = last_gift = NULL
        if random_() < 0.15:
            gifts = 1 + int(random_() ** 3 * 20)
            total = gifts * (500 + int(random_() ** 2 * 20000))
            gift_at = created + timedelta(seconds=int(random_() * (now - created).total_seconds()))
            first_gift = gift_at.isoformat()
            last_gift = (gift_at + timedelta(days=int(random_() * 300) * (gifts > 1))).isoformat()
        e = random_()
        email_consent = "granted" if e < 0.45 else "withdrawn" if e < 0.55 else "unknown"
        s = random_()
        sms_consent = "granted" if s < 0.2 else "withdrawn" if s < 0.25 else "unknown"
        language = "en" if english else ("fr" if random_() < 0.97 else choice(("es", "de", "ar")))
        birthdate = (
            date(1940 + rng.randrange(66), 1 + rng.randrange(12), 1 + rng.randrange(28)).isoformat()
            if random_() < 0.6
            else NULL
        )
        custom = f'{{"shirt": "{choice("SML")}"}}' if random_() < 0.1 else "{}"
        points = str(int(random_() ** 4 * 500))
        lines.append(
            "\t".join(
                (
                    first,
                    "",
                    last,
                    email,
                    phone,
                    f"{1 + rng.randrange(150)} rue de la République"
                    if not english
                    else f"{1 + rng.randrange(150)} High Street",
                    "",
                    city,
                    postal,
                    region,
                    country,
                    birthdate,
                    language,
                    choice(EMPLOYERS),
                    choice(OCCUPATIONS),
                    "{}",
                    support,
                    custom,
                    points,
                    email_consent,
                    sms_consent,
                    choice(CONSENT),
                    choice(CONSENT),
                    str(gifts),
                    str(total),
                    first_gift,
                    last_gift,
                    search,
                    "f",
                    created.isoformat(),
                    updated.isoformat(),
                    active,
                )
            )
        )
        if len(lines) == CHUNK:
            yield io.StringIO("\n".join(lines) + "\n")
            lines = []
    if lines:
        yield io.StringIO("\n".join(lines) + "\n")


def _secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the table's indexes that back no constraint."""
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " WHERE i.schemaname = current_schema() AND i.tablename = %s"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        [table],
    )
    return cursor.fetchall()


def _missing_required(cursor) -> list[tuple[str, str]]:
    """NOT NULL columns of people_person without a default that this generator does not fill
    (added by a later migration): (column, data type), filled with the type's zero value."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = 'people_person'"
        " AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'"
    )
    return [(c, t) for c, t in cursor.fetchall() if c not in PERSON_COLUMNS and c != "id"]


ZERO = {"boolean": "f", "jsonb": "{}", "integer": "0", "bigint": "0", "smallint": "0"}


def generate_people(schema_name: str, count: int, *, seed: int = 1) -> None:
    """Fill `schema_name`'s supporter base with `count` more people (see the module doc)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with schema_context(schema_name), connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SET synchronous_commit = off")
        indexes = _secondary_indexes(cursor, "people_person")
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        extra = _missing_required(cursor)
        columns = ", ".join(PERSON_COLUMNS + tuple(c for c, _t in extra))
        suffix = "".join("\t" + ZERO.get(t, "") for _c, t in extra)
        cursor.execute("SELECT coalesce(max(id), 0) FROM people_person")
        first_id = cursor.fetchone()[0]
        cursor.execute("SET max_parallel_maintenance_workers = 2")
        for buffer in _person_rows(count, rng, start):
            if suffix:
                buffer = io.StringIO(buffer.getvalue().replace("\n", suffix + "\n"))
            cursor.copy_expert(f"COPY people_person ({columns}) FROM STDIN", buffer)
        # Inside a transaction (tests), deferred foreign-key checks must run before CREATE INDEX.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for _name, definition in indexes:
            cursor.execute(definition)
        # The join tables are loaded the same way: secondary indexes off, rows in, indexes on.
        related = {
            table: _secondary_indexes(cursor, table)
            for table in (
                "people_tagging",
                "people_listmembership",
                "people_personemail",
                "people_personphone",
            )
        }
        for table_indexes in related.values():
            for name, _definition in table_indexes:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        new = "p.id > %s"
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        for name, share in TAGS:
            cursor.execute(
                "INSERT INTO people_tag (name, created_at) VALUES (%s, now())"
                " ON CONFLICT (name) DO NOTHING",
                [name],
            )
            cursor.execute(
                "INSERT INTO people_tagging (person_id, tag_id, created_at)"
                f" SELECT p.id, t.id, p.created_at FROM people_person p, people_tag t"
                f" WHERE t.name = %s AND {new} AND random() < %s ON CONFLICT DO NOTHING",
                [name, first_id, share],
            )
        for name, share in LISTS:
            cursor.execute(
                "INSERT INTO people_peoplelist (name, description, created_at)"
                " VALUES (%s, '', now()) ON CONFLICT (name) DO NOTHING",
                [name],
            )
            cursor.execute(
                "INSERT INTO people_listmembership (people_list_id, person_id, created_at)"
                f" SELECT l.id, p.id, now() FROM people_person p, people_peoplelist l"
                f" WHERE l.name = %s AND {new} AND random() < %s ON CONFLICT DO NOTHING",
                [name, first_id, share],
            )
        cursor.execute(
            "INSERT INTO people_personemail (person_id, address, is_primary, status, created_at)"
            f" SELECT p.id, p.email, true, 'ok', p.created_at FROM people_person p"
            f" WHERE {new} AND p.email <> ''",
            [first_id],
        )
        cursor.execute(
            "INSERT INTO people_personphone (person_id, number, kind, is_primary, created_at)"
            f" SELECT p.id, p.phone, 'mobile', true, p.created_at FROM people_person p"
            f" WHERE {new} AND p.phone <> ''",
            [first_id],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table_indexes in related.values():
            for _name, definition in table_indexes:
                cursor.execute(definition)
        in_transaction = not connection.get_autocommit()
        for table in (
            "people_person",
            "people_tagging",
            "people_tag",
            "people_listmembership",
            "people_personemail",
            "people_personphone",
        ):
            # VACUUM (outside a transaction) also sets the visibility map, so counts can use
            # index-only scans; inside a test's transaction ANALYZE is what there is.
            cursor.execute(f"{'ANALYZE' if in_transaction else 'VACUUM ANALYZE'} {table}")
