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


# The donor's link to their yearly tax receipt (sent by email): signed and timestamped, so it
# expires; the receipt's id alone would be guessable.
TAX_RECEIPT_SALT = "donations.tax_receipt"
TAX_RECEIPT_MAX_AGE_DAYS = 90


def tax_receipt_token(receipt) -> str:
    from django.db import connection

    return signing.TimestampSigner(salt=TAX_RECEIPT_SALT).sign_object(
        {"r": receipt.pk, "n": receipt.number, "s": connection.schema_name}
    )


def tax_receipt_url(receipt) -> str:
    return f"/donations/tax-receipt/{tax_receipt_token(receipt)}/"


def tax_receipt_for_token(token: str):
    """The receipt a link names, or None when forged, expired or not this nation's."""
    from django.db import connection

    from .models import TaxReceipt

    try:
        data = signing.TimestampSigner(salt=TAX_RECEIPT_SALT).unsign_object(
            token, max_age=TAX_RECEIPT_MAX_AGE_DAYS * 86400
        )
    except (signing.BadSignature, signing.SignatureExpired, ValueError):
        return None
    # Ids and numbers restart in every nation's schema: the link names its nation too.
    if not isinstance(data, dict) or data.get("s") != connection.schema_name:
        return None
    return TaxReceipt.objects.filter(pk=data.get("r"), number=data.get("n")).first()
