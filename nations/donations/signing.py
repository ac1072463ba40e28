"""The donor's link to manage a recurring gift: the gift's random key, signed (a key alone is
unguessable; the signature lets us rotate SECRET_KEY to revoke every link at once)."""

from __future__ import annotations

from django.core import signing

from .models import RecurringDonation

SALT = "donations.manage"


def manage_token(recurring: RecurringDonation) -> str:
    return signing.dumps(str(recurring.manage_key), salt=SALT, compress=True)


def manage_url(recurring: RecurringDonation) -> str:
    return f"/donations/manage/{manage_token(recurring)}/"


def recurring_for_token(token: str) -> RecurringDonation | None:
    try:
        key = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    return RecurringDonation.objects.filter(manage_key=key).first()
