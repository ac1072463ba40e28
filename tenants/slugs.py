"""Rules for a nation's subdomain (its slug) and the schema name derived from it."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
SLUG_MIN, SLUG_MAX = 3, 40
RESERVED_SLUGS = frozenset(
    [
        "www",
        "admin",
        "administrator",
        "api",
        "app",
        "apps",
        "assets",
        "auth",
        "billing",
        "blog",
        "cdn",
        "dashboard",
        "demo-admin",
        "dev",
        "docs",
        "email",
        "ftp",
        "help",
        "imap",
        "info",
        "mail",
        "media",
        "news",
        "nations",
        "operator",
        "operators",
        "panel",
        "platform",
        "pop",
        "pop3",
        "root",
        "security",
        "signup",
        "smtp",
        "sso",
        "static",
        "staging",
        "status",
        "stripe",
        "support",
        "system",
        "test",
        "webhooks",
        "webmail",
    ]
)


def validate_slug(value: str) -> None:
    if value != value.strip() or not value:
        raise ValidationError(_("Enter a subdomain."), code="required")
    if len(value) < SLUG_MIN:
        raise ValidationError(_("Use at least %(n)d characters.") % {"n": SLUG_MIN}, code="short")
    if len(value) > SLUG_MAX:
        raise ValidationError(_("Use at most %(n)d characters.") % {"n": SLUG_MAX}, code="long")
    if value != value.lower() and SLUG_RE.match(value.lower()):
        raise ValidationError(_("Use lowercase letters only."), code="uppercase")
    if not SLUG_RE.match(value):
        raise ValidationError(
            _(
                "Use lowercase letters (a-z), digits and hyphens, starting and ending with a letter "
                "or digit."
            ),
            code="invalid",
        )
    if "--" in value:
        raise ValidationError(_("Do not use two hyphens in a row."), code="invalid")
    if value in RESERVED_SLUGS:
        raise ValidationError(
            _("This subdomain is reserved. Please choose another."), code="reserved"
        )


def schema_name_for(slug: str) -> str:
    return "n_" + slug.replace("-", "_")
