"""The fast paths of row cleaning give exactly what the reference functions give."""

from __future__ import annotations

import random

import pytest
from django.core.exceptions import ValidationError

from nations.imports.columns import suggest_mapping
from nations.imports.rows import RowCleaner, RowProblem, fast_search_text
from nations.people.normalise import clean_phone, search_text


def _reference(value: str, region: str):
    try:
        return clean_phone(value, default_region=region)
    except ValidationError:
        return None


@pytest.mark.parametrize("region", ["FR", "BE", "GB", "US", "IT"])
def test_fast_phone_cleaning_matches_clean_phone(region):
    rng = random.Random(5)  # noqa: S311 - test inputs
    code = {"FR": "33", "BE": "32", "GB": "44", "US": "1", "IT": "39"}[region]
    samples = [
        "06 12 34 56 78",
        "0612345678",
        "+33 6 12 34 56 78",
        "0033612345678",
        "01 23 45 67 89",
        "08 00 12 34 56",
        "06 39 00 39 39",
        "09 99 99 99 99",
        "12345",
        "+44 7911 123456",
        "0470 12 34 56",
        "(415) 555-2671",
        "06.12.34.56.78",
        "+33 (0)6 12 34 56 78",
    ]
    for _ in range(3000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(6, 12)))
        prefix = rng.choice(["0", "+" + code, "00" + code, "", "+33"])
        samples.append(prefix + digits)
    cleaner = RowCleaner({"0": "phone"}, default_region=region)
    for value in samples:
        try:
            got = cleaner._phone(value)
        except RowProblem:
            got = None
        assert got == _reference(value, region), value


def test_fast_search_text_matches_search_text():
    names = ["Hélène", "ŒDIPE", "Straße", "  Jean   Paul ", "Zoë", "", "ﬁne", "İstanbul", "Ǆemal"]
    rng = random.Random(2)  # noqa: S311 - test inputs
    for _ in range(500):
        first, middle, last = (rng.choice(names) for _ in range(3))
        emails = rng.sample(["a@b.fr", "élise@exämple.fr", "X@Y.ORG"], rng.randint(0, 2))
        phones = rng.sample(["+33612345678", "+447911123456"], rng.randint(0, 2))
        assert fast_search_text(first, middle, last, emails, phones) == search_text(
            first_name=first, middle_name=middle, last_name=last, emails=emails, phones=phones
        )


def test_headers_of_nationbuilder_civicrm_and_french_files_are_recognised():
    nationbuilder = [
        "nationbuilder_id",
        "first_name",
        "last_name",
        "email",
        "phone_number",
        "mobile_number",
        "primary_address1",
        "primary_city",
        "primary_zip",
        "primary_country_code",
        "tag_list",
        "born_at",
        "email_opt_in",
        "mobile_opt_in",
        "support_level",
        "employer",
        "occupation",
    ]
    assert list(suggest_mapping(nationbuilder).values()) == [
        "external_id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "mobile",
        "address1",
        "city",
        "postal_code",
        "country",
        "tags",
        "birthdate",
        "email_opt_in",
        "sms_opt_in",
        "support_level",
        "employer",
        "occupation",
    ]
    civicrm = [
        "Contact ID",
        "First Name",
        "Last Name",
        "Email",
        "Phone",
        "Street Address",
        "City",
        "Postal Code",
        "Country",
        "Birth Date",
        "Current Employer",
        "Job Title",
        "Tag(s)",
        "Is Opt Out",
        "Preferred Language",
        "External Identifier",
    ]
    mapping = suggest_mapping(civicrm)
    assert [mapping.get(str(i)) for i in range(len(civicrm))] == [
        "external_id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "address1",
        "city",
        "postal_code",
        "country",
        "birthdate",
        "employer",
        "occupation",
        "tags",
        "email_opt_out",
        "language",
        None,  # one external id only: the first
    ]
    french = ["Prénom", "Nom", "Courriel", "Téléphone", "Code postal", "Ville", "Étiquettes"]
    assert list(suggest_mapping(french).values()) == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "postal_code",
        "city",
        "tags",
    ]
