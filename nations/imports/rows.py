"""One row of a file, cleaned into what the import writes, or the reasons it cannot be.

This runs a million times per large import, so it avoids Django per cell; the rules are those
of the actions (nations.people.normalise, person_upsert's field limits), and
tests/imports/test_rows.py holds the fast paths to the slow reference functions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from nations.people.models import Person
from nations.people.normalise import clean_email, clean_phone, fold

from .columns import CUSTOM_PREFIX, TARGETS

MAX_LENGTH = {
    name: Person._meta.get_field(name).max_length
    for name in (
        "first_name",
        "middle_name",
        "last_name",
        "address1",
        "address2",
        "city",
        "postal_code",
        "region",
        "employer",
        "occupation",
        "external_id",
    )
}
TEXT_FIELDS = tuple(MAX_LENGTH)
MAX_TAG = 100
MAX_NOTE = 20_000
MAX_CUSTOM_TEXT = 1000  # as custom_value_clean keeps in the panel
YES = {"1", "true", "yes", "y", "oui", "o", "x", "vrai", "granted", "opt-in", "opted in", "t"}
NO = {"0", "false", "no", "n", "non", "faux", "withdrawn", "unsubscribed", "opt-out", "f"}
TAG_SPLIT = re.compile(r"\s*[,;|]\s*")
PHONE_STRIP = str.maketrans("", "", " .-()/\u00a0\t")


class RowProblem(Exception):
    pass


@dataclass(frozen=True, slots=True)
class CustomSpec:
    """What the import needs to know of a custom field (read before the reading thread starts:
    cleaning never touches the database)."""

    slug: str
    label: str
    kind: str  # CustomField.Kind
    choices: tuple[str, ...] = ()


def custom_specs() -> dict[str, CustomSpec]:
    """The nation's custom fields by import target ("custom:<slug>")."""
    from nations.people.models import CustomField

    return {
        f"{CUSTOM_PREFIX}{f.slug}": CustomSpec(
            f.slug, f.label, f.kind, tuple(str(c) for c in f.choices or ())
        )
        for f in CustomField.objects.all()
    }


@dataclass(slots=True)
class CleanRow:
    line: int
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    email: str = ""
    email2: str = ""
    phone: str = ""
    phone_kind: str = ""
    phone2: str = ""
    phone2_kind: str = ""
    address1: str = ""
    address2: str = ""
    city: str = ""
    postal_code: str = ""
    region: str = ""
    country: str = ""
    birthdate: date | None = None
    language: str = ""
    employer: str = ""
    occupation: str = ""
    support_level: int | None = None
    external_id: str = ""
    tags: list[str] = field(default_factory=list)
    email_consent: str = ""  # granted | withdrawn | ""
    sms_consent: str = ""
    search_text: str = ""
    custom: dict | None = None  # custom field slug -> value, as Person.custom holds them
    note: str = ""

    @property
    def is_blank(self) -> bool:
        return not (
            self.first_name
            or self.last_name
            or self.middle_name
            or self.email
            or self.phone
            or self.external_id
        )

    def person_data(self) -> dict:
        """The fields person_upsert takes in `data`."""
        data = {name: getattr(self, name) for name in TEXT_FIELDS}
        data.update(
            country=self.country,
            birthdate=self.birthdate,
            language=self.language,
            support_level=self.support_level,
        )
        return data


class RowCleaner:
    """Cleans rows for one import's mapping and options."""

    def __init__(
        self,
        mapping: dict[str, str],
        *,
        date_order: str = "dmy",
        default_region: str = "FR",
        extra_tags: list[str] | None = None,
        custom: dict[str, CustomSpec] | None = None,
    ) -> None:
        self.custom = custom or {}
        self.columns = sorted(
            (
                (int(index), target)
                for index, target in mapping.items()
                if target in TARGETS or target in self.custom
            ),
            key=lambda item: item[0],
        )
        self.width = max((i for i, _t in self.columns), default=-1) + 1
        self.date_order = date_order
        self.region = (default_region or "FR").upper()
        self.extra_tags = [t for t in (_clean_tag(t) for t in extra_tags or ()) if t]
        self.fast_phone = _fast_phone_rules(self.region)

    def clean(self, line: int, cells: list[str], header_width: int) -> CleanRow:
        """The cleaned row; raises RowProblem with every reason it cannot be imported."""
        problems: list[str] = []
        if len(cells) > header_width and any(c.strip() for c in cells[header_width:]):
            problems.append(
                _("this row has %(cells)s cells but the header names %(columns)s columns")
                % {"cells": f"{len(cells):,}", "columns": f"{header_width:,}"}
            )
            raise RowProblem("; ".join(problems))
        row = CleanRow(line=line, tags=list(self.extra_tags))
        for index, target in self.columns:
            raw = cells[index] if index < len(cells) else ""
            if not raw:
                continue
            if "\ufffd" in raw:
                problems.append(
                    _("“%(column)s” contains characters that are not valid in the file's encoding")
                    % {"column": self._label(target)}
                )
                continue
            if target == "note":  # a note keeps its line breaks
                value = raw.strip()
                if value:
                    if len(value) > MAX_NOTE:
                        problems.append(
                            _("the note is too long (%(length)s characters; at most %(max)s)")
                            % {"length": f"{len(value):,}", "max": f"{MAX_NOTE:,}"}
                        )
                    else:
                        row.note = value
                continue
            value = " ".join(raw.split()) if len(raw) < 20000 else raw
            if not value:
                continue
            try:
                self._set(row, target, value)
            except RowProblem as problem:
                problems.append(str(problem))
        if problems:
            raise RowProblem("; ".join(problems))
        if not row.phone and row.phone2:
            row.phone, row.phone_kind, row.phone2, row.phone2_kind = (
                row.phone2,
                row.phone2_kind,
                "",
                "",
            )
        if not row.email and row.email2:
            row.email, row.email2 = row.email2, ""
        if row.email2 == row.email:
            row.email2 = ""
        if row.phone2 == row.phone:
            row.phone2 = ""
        emails = [e for e in (row.email, row.email2) if e]
        phones = [p for p in (row.phone, row.phone2) if p]
        row.search_text = fast_search_text(
            row.first_name, row.middle_name, row.last_name, emails, phones
        )
        if row.tags:
            row.tags = sorted(set(row.tags))
        return row

    def _label(self, target: str):
        spec = self.custom.get(target)
        return spec.label if spec else TARGETS[target]

    def _set(self, row: CleanRow, target: str, value: str) -> None:
        spec = self.custom.get(target)
        if spec is not None:
            if row.custom is None:
                row.custom = {}
            row.custom[spec.slug] = _custom_value(spec, value, self.date_order)
            return
        if target in MAX_LENGTH:
            limit = MAX_LENGTH[target]
            if len(value) > limit:
                raise RowProblem(
                    _("%(column)s is too long (%(length)s characters; at most %(max)s)")
                    % {"column": TARGETS[target], "length": f"{len(value):,}", "max": limit}
                )
            setattr(row, target, value)
        elif target == "full_name":
            if len(value) > 200:
                raise RowProblem(_("the full name is too long (at most 200 characters)"))
            first, _sep, last = value.partition(" ")
            if "," in value:  # "Dupont, Jeanne"
                last, _sep, first = value.partition(",")
            row.first_name = row.first_name or first.strip()[:100]
            row.last_name = row.last_name or last.strip()[:100]
        elif target in ("email", "email2"):
            setattr(row, target, _email(value))
        elif target in ("phone", "mobile"):
            number, kind = self._phone(value)
            if target == "phone":
                row.phone, row.phone_kind = number, kind
            else:
                row.phone2, row.phone2_kind = number, kind
        elif target == "country":
            row.country = _country(value)
        elif target == "birthdate":
            row.birthdate = _date(value, self.date_order)
        elif target == "language":
            row.language = _language(value)
        elif target == "support_level":
            row.support_level = _support(value)
        elif target == "tags":
            for name in TAG_SPLIT.split(value):
                tag = _clean_tag(name)
                if tag:
                    row.tags.append(tag)
        elif target in ("email_opt_in", "sms_opt_in"):
            status = _yes_no(value, TARGETS[target])
            if target == "email_opt_in":
                row.email_consent = status
            else:
                row.sms_consent = status
        elif target == "email_opt_out" and _yes_no(value, TARGETS[target]) == "granted":
            row.email_consent = "withdrawn"

    def _phone(self, value: str) -> tuple[str, str]:
        if len(value) > 40:
            raise RowProblem(_("“%(value)s…” is not a phone number") % {"value": value[:20]})
        fast = self.fast_phone
        if fast is not None:
            digits = value.translate(PHONE_STRIP)
            match = fast.pattern.fullmatch(digits)
            if match:
                national = match.group(1)
                kind = fast.number_type(national)
                if kind == phonenumbers.PhoneNumberType.UNKNOWN:
                    raise RowProblem(
                        _("“%(value)s” is not a valid phone number") % {"value": value}
                    )
                return fast.prefix + national, _KINDS.get(kind, "unknown")
        try:
            return clean_phone(value, default_region=self.region)
        except ValidationError:
            raise RowProblem(
                _("“%(value)s” is not a valid phone number") % {"value": value[:40]}
            ) from None


@lru_cache(maxsize=200_000)
def _fold_word(text: str) -> str:
    return fold(text)


def _fold_part(text: str) -> str:
    if text.isascii():
        return " ".join(text.lower().split())
    return _fold_word(text)  # names repeat: a million rows hold a few thousand distinct ones


def fast_search_text(
    first_name: str, middle_name: str, last_name: str, emails: list[str], phones: list[str]
) -> str:
    """normalise.search_text(), part by part: folding is per character and never joins two
    parts, so the folded parts joined with spaces are the fold of the whole."""
    parts = [first_name, middle_name, last_name, *emails]
    parts += [p.lstrip("+") for p in phones]
    parts += ["0" + p[3:] for p in phones if p.startswith("+33")]
    return " ".join(f for f in (_fold_part(p) for p in parts if p) if f)


_KINDS = {
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.FIXED_LINE: "landline",
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: "mobile",
}


_T = phonenumbers.PhoneNumberType
_SPECIAL_TYPES = (
    ("premium_rate", _T.PREMIUM_RATE),
    ("toll_free", _T.TOLL_FREE),
    ("shared_cost", _T.SHARED_COST),
    ("voip", _T.VOIP),
    ("personal_number", _T.PERSONAL_NUMBER),
    ("pager", _T.PAGER),
    ("uan", _T.UAN),
    ("voicemail", _T.VOICEMAIL),
)


def _desc_matcher(desc):
    """phonenumberutil._is_number_matching_desc for one description, precompiled."""
    if desc is None or not desc.national_number_pattern:
        return lambda number: False
    lengths = frozenset(desc.possible_length or ())
    fullmatch = re.compile(desc.national_number_pattern).fullmatch
    if lengths:
        return lambda number: len(number) in lengths and fullmatch(number) is not None
    return lambda number: fullmatch(number) is not None


class _FastPhone:
    """phonenumberutil._number_type_helper with its regular expressions compiled once."""

    def __init__(self, pattern: re.Pattern, metadata, prefix: str) -> None:
        self.pattern = pattern
        self.prefix = prefix
        self.general = _desc_matcher(metadata.general_desc)
        self.specials = [(_desc_matcher(getattr(metadata, n)), t) for n, t in _SPECIAL_TYPES]
        self.fixed = _desc_matcher(metadata.fixed_line)
        self.mobile = _desc_matcher(metadata.mobile)
        self.same = metadata.same_mobile_and_fixed_line_pattern

    def number_type(self, national: str):
        if not self.general(national):
            return _T.UNKNOWN
        for matches, kind in self.specials:
            if matches(national):
                return kind
        if self.fixed(national):
            if self.same or self.mobile(national):
                return _T.FIXED_LINE_OR_MOBILE
            return _T.FIXED_LINE
        if not self.same and self.mobile(national):
            return _T.MOBILE
        return _T.UNKNOWN


@lru_cache(maxsize=32)
def _fast_phone_rules(region: str) -> _FastPhone | None:
    """A shortcut through phonenumbers for the plain forms of the nation's own numbers
    (0612345678, +33612345678, 0033…): the same metadata and type check that
    `phonenumbers.is_valid_number` uses, without the general parser, which is 10x slower.
    Only for a country code used by one region with national prefix 0; anything else goes
    through clean_phone."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.national_prefix != "0":
        return None
    if metadata.national_prefix_for_parsing not in (None, "0"):
        return None
    code = metadata.country_code
    if len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())) != 1:
        return None
    pattern = re.compile(rf"(?:\+{code}|00{code}|0)([1-9]\d{{5,13}})")
    return _FastPhone(pattern=pattern, metadata=metadata, prefix=f"+{code}")


def _email(value: str) -> str:
    if len(value) > 254:
        raise RowProblem(_("the email address is too long (at most 254 characters)"))
    try:
        return clean_email(value)
    except ValidationError:
        raise RowProblem(_("“%(value)s” is not an email address") % {"value": value}) from None


def _clean_tag(name: str) -> str:
    return " ".join((name or "").split())[:MAX_TAG]


DATE_FORMATS = {
    "dmy": ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%d/%m/%y"),
    "mdy": ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%Y/%m/%d", "%m/%d/%y"),
}


def _date(value: str, order: str) -> date:
    text = value.strip()
    if "T" in text or " " in text:
        text = re.split(r"[T ]", text, maxsplit=1)[0]  # "1980-05-02 00:00:00"
    for fmt in DATE_FORMATS.get(order, DATE_FORMATS["dmy"]):
        try:
            parsed = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if parsed.year < 1900 or parsed > date.today():
            raise RowProblem(_("“%(value)s” is not a plausible birth date") % {"value": value})
        return parsed
    raise RowProblem(_("“%(value)s” is not a date") % {"value": value[:40]})


def _custom_value(spec: CustomSpec, value: str, order: str):
    """The value Person.custom holds for `spec` (as custom_value_clean makes it in the panel),
    or RowProblem naming the column and the value."""
    from decimal import Decimal, InvalidOperation

    if spec.kind == "number":
        try:
            number = Decimal(value.replace(",", ".").replace(" ", "").replace("\u00a0", ""))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise RowProblem(
                _("%(column)s: “%(value)s” is not a number")
                % {"column": spec.label, "value": value[:40]}
            )
        return int(number) if number == number.to_integral_value() else float(number)
    if spec.kind == "date":
        text = value.strip()
        if "T" in text or " " in text:
            text = re.split(r"[T ]", text, maxsplit=1)[0]
        for fmt in DATE_FORMATS.get(order, DATE_FORMATS["dmy"]):
            try:
                return datetime.strptime(text, fmt).date().isoformat()
            except ValueError:
                continue
        raise RowProblem(
            _("%(column)s: “%(value)s” is not a date") % {"column": spec.label, "value": value[:40]}
        )
    if spec.kind == "choice":
        for choice in spec.choices:
            if choice.casefold() == value.casefold():
                return choice
        raise RowProblem(
            _("%(column)s: “%(value)s” is not one of the choices (%(choices)s)")
            % {"column": spec.label, "value": value[:40], "choices": ", ".join(spec.choices)}
        )
    if len(value) > MAX_CUSTOM_TEXT:
        raise RowProblem(
            _("%(column)s is too long (%(length)s characters; at most %(max)s)")
            % {"column": spec.label, "length": f"{len(value):,}", "max": MAX_CUSTOM_TEXT}
        )
    return value


def _support(value: str) -> int:
    try:
        level = int(float(value.replace(",", ".")))
    except ValueError:
        level = 0
    if not 1 <= level <= 5:
        raise RowProblem(
            _("support level “%(value)s” is not a number from 1 to 5") % {"value": value[:20]}
        )
    return level


def _yes_no(value: str, column) -> str:
    key = value.strip().lower()
    if key in YES:
        return "granted"
    if key in NO:
        return "withdrawn"
    raise RowProblem(
        _("%(column)s: “%(value)s” is neither yes nor no") % {"column": column, "value": value[:40]}
    )


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    from babel import Locale

    names: dict[str, str] = {}
    for locale in ("en", "fr"):
        for code, name in Locale.parse(locale).territories.items():
            if len(code) == 2 and code.isalpha():
                names[name.casefold()] = code
                names[code.casefold()] = code
    names.update({"usa": "US", "uk": "GB", "england": "GB", "angleterre": "GB"})
    return names


def _country(value: str) -> str:
    code = _country_names().get(value.strip().casefold())
    if code is None:
        raise RowProblem(_("“%(value)s” is not a country we know") % {"value": value[:40]})
    return code


@lru_cache(maxsize=1)
def _language_names() -> dict[str, str]:
    from babel import Locale

    names: dict[str, str] = {}
    for locale in ("en", "fr"):
        for code, name in Locale.parse(locale).languages.items():
            if len(code) <= 8:
                names[name.casefold()] = code.lower()
                names[code.casefold()] = code.lower()
    return names


def _language(value: str) -> str:
    key = value.strip().replace("_", "-").casefold()
    code = _language_names().get(key) or _language_names().get(key.split("-")[0])
    if code is None:
        raise RowProblem(_("“%(value)s” is not a language we know") % {"value": value[:40]})
    return code
