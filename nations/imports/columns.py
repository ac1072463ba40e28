"""What a column of an imported file can become, and the guess made from its header.

The guesses know the column names of a NationBuilder people export, a CiviCRM contact export,
our own export, and the usual English and French spellings ("Prénom", "Code postal")."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from nations.people.normalise import fold

IGNORE = ""

# field -> label; the order is the order of the mapping menu.
TARGETS: dict[str, object] = {
    "first_name": _("First name"),
    "middle_name": _("Middle name"),
    "last_name": _("Last name"),
    "full_name": _("Full name (split into first and last)"),
    "email": _("Email"),
    "email2": _("Other email"),
    "phone": _("Phone"),
    "mobile": _("Mobile phone"),
    "address1": _("Address"),
    "address2": _("Address (line 2)"),
    "city": _("City"),
    "postal_code": _("Postal code"),
    "region": _("Region / state"),
    "country": _("Country"),
    "birthdate": _("Birth date"),
    "language": _("Language"),
    "employer": _("Employer"),
    "occupation": _("Occupation"),
    "support_level": _("Support level (1–5)"),
    "external_id": _("External id"),
    "tags": _("Tags"),
    "email_opt_in": _("Email consent (yes/no)"),
    "email_opt_out": _("Email opt-out (yes = unsubscribed)"),
    "sms_opt_in": _("SMS consent (yes/no)"),
    "note": _("Note (added to the person's notes)"),
}
MULTIPLE = {"tags"}  # the only target several columns may map to
# A column can also become one of the nation's custom fields: target "custom:<slug>".
CUSTOM_PREFIX = "custom:"

_ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": (
        "first_name",
        "first name",
        "firstname",
        "given name",
        "prenom",
        "prénom",
        "first",
    ),
    "middle_name": ("middle_name", "middle name", "second prenom", "deuxieme prenom"),
    "last_name": (
        "last_name",
        "last name",
        "lastname",
        "surname",
        "family name",
        "nom",
        "nom de famille",
        "last",
    ),
    "full_name": ("full_name", "full name", "name", "display name", "nom complet", "contact name"),
    "email": (
        "email",
        "e-mail",
        "email address",
        "email1",
        "primary email",
        "courriel",
        "mail",
        "adresse email",
        "adresse e-mail",
        "adresse mail",
        "adresse electronique",
        "e mail",
    ),
    "email2": ("email2", "email 2", "other email", "secondary email", "autre email"),
    "phone": (
        "phone",
        "phone_number",
        "phone number",
        "telephone",
        "téléphone",
        "tel",
        "tél",
        "numero de telephone",
        "home phone",
        "primary phone",
        "telephone fixe",
    ),
    "mobile": (
        "mobile",
        "mobile_number",
        "mobile number",
        "mobile phone",
        "cell",
        "cell phone",
        "portable",
        "telephone portable",
        "tel portable",
        "mobile_phone",
    ),
    "address1": (
        "address1",
        "address",
        "address 1",
        "street address",
        "primary_address1",
        "primary address1",
        "adresse",
        "adresse 1",
        "rue",
        "street",
        "registered_address1",
        "home_address1",
    ),
    "address2": (
        "address2",
        "address 2",
        "primary_address2",
        "adresse 2",
        "complement d'adresse",
        "supplemental address 1",
        "complement adresse",
        "home_address2",
    ),
    "city": (
        "city",
        "town",
        "primary_city",
        "ville",
        "commune",
        "localite",
        "registered_city",
        "home_city",
    ),
    "postal_code": (
        "postal_code",
        "postal code",
        "postcode",
        "zip",
        "zip code",
        "zipcode",
        "primary_zip",
        "code postal",
        "cp",
        "registered_zip",
        "home_zip",
        "post code",
    ),
    "region": (
        "region",
        "state",
        "province",
        "state/province",
        "primary_state",
        "departement",
        "région",
        "county",
    ),
    "country": (
        "country",
        "country_code",
        "primary_country_code",
        "primary_country",
        "pays",
        "country code",
        "home_country_code",
    ),
    "birthdate": (
        "birthdate",
        "birth date",
        "born_at",
        "date of birth",
        "dob",
        "date de naissance",
        "birthday",
        "naissance",
    ),
    "language": (
        "language",
        "user_language",
        "preferred language",
        "langue",
        "locale",
        "langue preferee",
    ),
    "employer": (
        "employer",
        "current employer",
        "employeur",
        "company",
        "organisation",
        "organization",
        "entreprise",
    ),
    "occupation": ("occupation", "job title", "profession", "metier", "poste", "fonction"),
    "support_level": ("support_level", "support level", "niveau de soutien", "soutien"),
    "external_id": (
        "external_id",
        "external id",
        "external identifier",
        "nationbuilder_id",
        "contact id",
        "id externe",
        "identifiant externe",
        "civicrm_id",
        "ngp_id",
        "internal contact id",
        "van_id",
    ),
    "tags": (
        "tags",
        "tag_list",
        "tag list",
        "etiquettes",
        "étiquettes",
        "groups",
        "groupes",
        "mots-cles",
    ),
    "email_opt_in": (
        "email_opt_in",
        "email opt in",
        "email opt-in",
        "newsletter",
        "accepte les emails",
        "consentement email",
        "inscrit newsletter",
        "email_consent",
    ),
    "email_opt_out": (
        "is opt out",
        "do not email",
        "no bulk emails (user opt out)",
        "email_unsubscribed",
        "unsubscribed",
        "desabonne",
        "désabonné",
        "do_not_email",
        "email opt out",
    ),
    "note": ("note", "notes", "comment", "comments", "commentaire", "commentaires", "remarques"),
    "sms_opt_in": (
        "mobile_opt_in",
        "sms_opt_in",
        "sms opt in",
        "sms opt-in",
        "consentement sms",
        "accepte les sms",
        "sms_consent",
    ),
}


def _key(header: str) -> str:
    return " ".join(fold(header).replace("_", " ").replace("-", " ").split())


ALIASES: dict[str, str] = {}
for _target, _names in _ALIASES.items():
    for _name in _names:
        ALIASES.setdefault(_key(_name), _target)


def import_targets() -> dict[str, object]:
    """Every target of this nation's imports: the fixed ones, then its custom fields (reads
    the nation's schema, so call it in a request or task, not in the import's reading thread)."""
    from nations.people.models import CustomField

    targets = dict(TARGETS)
    for field in CustomField.objects.all():
        targets[f"{CUSTOM_PREFIX}{field.slug}"] = field.label
    return targets


def suggest_mapping(headers: list[str], custom: dict[str, str] | None = None) -> dict[str, str]:
    """{column index: target} for the headers we recognise, each target used once (but tags,
    which may come from several columns). `custom` maps custom-field targets to their labels:
    a header that names a custom field (its label or its key) is mapped to it."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    custom_keys: dict[str, str] = {}
    for target, label in (custom or {}).items():
        custom_keys.setdefault(_key(str(label)), target)
        custom_keys.setdefault(_key(target.removeprefix(CUSTOM_PREFIX)), target)
    for index, header in enumerate(headers):
        target = custom_keys.get(_key(header)) or ALIASES.get(_key(header))
        if target is None and _key(header).startswith("tag"):
            target = "tags"
        if target and (target in MULTIPLE or target not in used):
            mapping[str(index)] = target
            used.add(target)
    # "Nom" next to "Prénom" is a last name; alone it is more likely a full name.
    if "last_name" in used and "first_name" not in used and "full_name" not in used:
        for index, target in list(mapping.items()):
            if target == "last_name" and _key(headers[int(index)]) == "nom":
                mapping[index] = "full_name"
    return mapping
