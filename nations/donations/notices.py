"""Emails about a donor's gifts beyond the per-payment receipt: a renewal the rules stopped
(to the donor and to the staff who manage donations) and the yearly tax receipt. All go
through the delivery pipeline (`transactional_send`), queued in the caller's transaction: a
rolled-back action sends nothing, a committed one sends once."""

from __future__ import annotations

from django.db import connection
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from nations.comms.actions import transactional_send
from tenants.hosts import nation_url
from tenants.models import Membership
from tenants.roles import permissions_for

from .models import RecurringDonation, TaxReceipt


def _language(code: str, nation) -> str:
    return code if code in ("fr", "en") else (nation.language or "en")


def _staff_emails(nation) -> list[str]:
    """Everyone in the nation who may manage donations (owners and admins included)."""
    return sorted(
        {
            m.user.email
            for m in Membership.objects.filter(nation=nation).select_related("user")
            if m.user.email and "donations.manage" in permissions_for(m.role, m.permissions)
        }
    )


def cap_notices_send(*, recurring: RecurringDonation, amount: int, refunded: bool = False) -> None:
    """Tell the donor and the staff that a renewal was not charged (or, charged too early to
    stop, was refunded in full), why, and what happens next."""
    from nations.site.actions import sender_for

    from .actions import donation_settings, money
    from .signing import manage_url

    nation = connection.tenant
    settings = donation_settings()
    first = recurring.payments.order_by("created_at", "id").first()
    email = first.email if first else (recurring.person.email if recurring.person else "")
    name = first.first_name if first else ""
    sender = sender_for(nation)
    annual = recurring.stop_reason == RecurringDonation.StopReason.ANNUAL_LIMIT

    def explain() -> tuple[str, str]:
        shown = money(amount, recurring.currency)
        if annual:
            limit = money(settings.annual_limit or 0, recurring.currency)
            until = formats.date_format(recurring.paused_until, "DATE_FORMAT")
            why = _(
                "The law caps gifts at %(limit)s per person per calendar year, and this "
                "payment of %(amount)s would take your gifts this year past it."
            ) % {"limit": limit, "amount": shown}
            then = (
                _(
                    "We refunded it in full. Your recurring gift is paused and resumes by "
                    "itself on %(date)s."
                )
                if refunded
                else _(
                    "We did not charge it. Your recurring gift is paused and resumes by itself "
                    "on %(date)s."
                )
            ) % {"date": until}
        else:
            limit = money(settings.election_limit or 0, recurring.currency)
            why = _(
                "The law caps gifts at %(limit)s per person for this election, and this "
                "payment of %(amount)s would take your gifts past it."
            ) % {"limit": limit, "amount": shown}
            then = (
                _("We refunded it in full, and your recurring gift has stopped.")
                if refunded
                else _("We did not charge it, and your recurring gift has stopped.")
            )
        return why, then

    if email:
        with translation.override(_language(first.language if first else "", nation)):
            why, then = explain()
            lines = [
                _("Dear %(name)s,") % {"name": name} if name else _("Hello,"),
                "",
                why,
                then,
                "",
                _("Thank you for your support."),
                "",
                nation.name,
            ]
            if annual:
                lines[5:5] = [
                    _("To stop it for good:"),
                    nation_url(nation, manage_url(recurring)),
                    "",
                ]
            transactional_send(
                to=email,
                subject=(
                    _("Your recurring gift to %(nation)s was refunded")
                    if refunded
                    else _("Your recurring gift to %(nation)s was not charged")
                )
                % {"nation": nation.name},
                text="\n".join(lines),
                from_email=sender,
                person_id=recurring.person_id,
                kind="donation_notice",
            )
    staff = _staff_emails(nation)
    if staff:
        with translation.override(nation.language or "en"):
            why, then = explain()
            donor = f"{first.first_name} {first.last_name} <{email}>" if first else email
            text = "\n".join(
                [
                    (
                        _("A renewal of %(donor)s's recurring gift was refunded in full.")
                        if refunded
                        else _("A renewal of %(donor)s's recurring gift was not charged.")
                    )
                    % {"donor": donor},
                    "",
                    why,
                    then,
                    "",
                    nation_url(nation, "/panel/donations/"),
                ]
            )
            subject = _("Recurring gift stopped by the contribution rules")
            for address in staff:
                transactional_send(
                    to=address,
                    subject=subject,
                    text=text,
                    from_email=sender,
                    kind="donation_notice",
                )


# --- yearly tax receipts ------------------------------------------------------------------------
def tax_receipt_email(*, receipt: TaxReceipt, language: str, email: str) -> bool:
    """Email one tax receipt (a signed, expiring link to its PDF), once: the receipt row is
    claimed in the transaction that queues the message. False if it was emailed already."""
    from django.db import transaction

    from nations.site.actions import sender_for

    from .actions import money
    from .signing import TAX_RECEIPT_MAX_AGE_DAYS, tax_receipt_url

    nation = connection.tenant
    with transaction.atomic():
        claimed = TaxReceipt.objects.filter(pk=receipt.pk, emailed_at__isnull=True).update(
            emailed_at=timezone.now(), emailed_to=email
        )
        if not claimed:
            return False
        with translation.override(_language(language, nation)):
            lines = [
                _("Dear %(name)s,") % {"name": receipt.donor_name},
                "",
                _(
                    "Here is your tax receipt no. %(number)s for your gifts of %(year)s to "
                    "%(nation)s: %(amount)s."
                )
                % {
                    "number": receipt.number,
                    "year": receipt.year,
                    "nation": nation.name,
                    "amount": money(receipt.amount, receipt.currency),
                },
                "",
                _("Download it (PDF) within %(days)s days:") % {"days": TAX_RECEIPT_MAX_AGE_DAYS},
                nation_url(nation, tax_receipt_url(receipt)),
                "",
                _("Keep it with your tax return. Thank you for your support."),
                "",
                nation.name,
            ]
            transactional_send(
                to=email,
                subject=_("Your %(year)s tax receipt from %(nation)s")
                % {"year": receipt.year, "nation": nation.name},
                text="\n".join(lines),
                from_email=sender_for(nation),
                person_id=receipt.person_id,
                kind="tax_receipt",
            )
    return True
