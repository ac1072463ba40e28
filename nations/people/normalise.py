"""Cleaning what people type: names to search text, emails, phone numbers (E.164)."""

from __future__ import annotations

import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email


def fold(text: str) -> str:
    """Lowercase, without accents: 'Hélène' -> 'helene'. The same fold is applied to stored
    search text and to queries, so either spelling finds the other."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def search_text(
    *,
    first_name: str = "",
    middle_name: str = "",
    last_name: str = "",
    emails: list[str] | tuple[str, ...] = (),
    phones: list[str] | tuple[str, ...] = (),
) -> str:
    parts = [first_name, middle_name, last_name, *emails]
    parts += [p.lstrip("+") for p in phones]
    # Local forms too, so "06 12 34 56 78" finds +33612345678.
    parts += ["0" + p[3:] for p in phones if p.startswith("+33")]
    return fold(" ".join(p for p in parts if p))


def clean_email(value: str) -> str:
    """Lowercased, trimmed email; raises ValidationError when it is not an address."""
    email = (value or "").strip().lower()
    validate_email(email)
    return email


def clean_phone(value: str, *, default_region: str = "FR") -> tuple[str, str]:
    """(E.164 number, kind) where kind is mobile/landline/unknown; raises ValidationError."""
    raw = (value or "").strip()
    try:
        number = phonenumbers.parse(raw, (default_region or "FR").upper())
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"not a valid phone number: {raw!r}")
    kind = phonenumbers.number_type(number)
    label = {
        phonenumbers.PhoneNumberType.MOBILE: "mobile",
        phonenumbers.PhoneNumberType.FIXED_LINE: "landline",
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: "mobile",
    }.get(kind, "unknown")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), label
