"""Receipt emails, sent after the payment's transaction commits, in the donor's language."""

from __future__ import annotations

from django.core.mail import EmailMessage
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.tasks import nation_task

from .models import Donation


@nation_task(
    name="donations.send_receipt", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def send_receipt(donation_id: int) -> None:
    """Email the receipt of one paid gift, once (receipt_sent_at is claimed first)."""
    claimed = Donation.objects.filter(
        pk=donation_id, receipt_sent_at__isnull=True, status=Donation.Status.PAID
    ).update(receipt_sent_at=timezone.now())
    if not claimed:
        return
    donation = Donation.objects.select_related("recurring", "page").get(pk=donation_id)
    # Through the delivery pipeline (nations/comms), ahead of any blast: its retries, rate
    # limits, journal and reaper replace this task's own, and the nation's own sending
    # backend, if it has one, carries it.
    from nations.comms.actions import transactional_send

    message = receipt_message(donation)
    transactional_send(
        to=message.to[0],
        subject=message.subject,
        text=message.body,
        from_email=message.from_email,
        person_id=donation.person_id,
        kind="receipt",
    )


def receipt_message(donation: Donation) -> EmailMessage:
    from nations.site.actions import sender_for
    from tenants.hosts import nation_url

    from .actions import money
    from .signing import manage_url

    nation = connection.tenant
    language = donation.language if donation.language in ("fr", "en") else nation.language
    with translation.override(language):
        amount = money(donation.amount, donation.currency)
        lines = [
            _("Dear %(name)s,") % {"name": donation.first_name},
            "",
            _("Thank you for your gift of %(amount)s to %(nation)s.")
            % {"amount": amount, "nation": nation.name},
            "",
            _("Receipt: %(key)s") % {"key": str(donation.key)[:8].upper()},
            _("Date: %(date)s") % {"date": timezone.localtime(donation.paid_at).date().isoformat()},
            _("Amount: %(amount)s") % {"amount": amount},
        ]
        if donation.fee_covered:
            lines.append(
                _("Including %(fee)s to cover the fees.")
                % {"fee": money(donation.fee_covered, donation.currency)}
            )
        if donation.recurring_id:
            every = _("every month") if donation.interval == "month" else _("every year")
            lines += [
                "",
                _("This gift repeats %(every)s. To change your card or stop it:")
                % {"every": every},
                nation_url(nation, manage_url(donation.recurring)),
            ]
        if nation.country == "FR":
            lines += ["", _("Your tax receipt for the year will be sent in January.")]
        lines += ["", nation.name]
        subject = _("Your gift to %(nation)s: receipt") % {"nation": nation.name}
    return EmailMessage(
        subject=subject, body="\n".join(lines), from_email=sender_for(nation), to=[donation.email]
    )


@nation_task(name="donations.tax_receipts_year", acks_late=True)
def tax_receipts_year(job_id: int, year: int) -> None:
    """Issue and email a year's tax receipts behind a progress bar. Safe to run again (after a
    crash or a second click): issued receipts keep their numbers, emailed ones are skipped."""
    from nations.jobs.actions import job_fail, job_finish, job_progress, job_start

    from . import actions

    nation = connection.tenant
    job_start(job_id=job_id, total=actions.tax_receipt_donors(year=year).count())
    try:
        issued = actions.tax_receipts_issue_year(
            year=year, progress=lambda n: job_progress(job_id=job_id, add=n)
        )
        sent, missing = actions.tax_receipts_send_year(year=year)
    except Exception as error:
        job_fail(job_id=job_id, message=str(error))
        raise
    with translation.override(nation.language or "en"):
        message = (
            _("%(count)s tax receipts issued for %(year)s.") % {"count": issued, "year": year}
            + " "
            + _("%(sent)s emailed to their donors.") % {"sent": sent}
        )
        if missing:
            message += " " + _(
                "%(count)s donors have no email address: download their PDF below."
            ) % {"count": missing}
    job_finish(
        job_id=job_id,
        message=message,
        result={"issued": issued, "sent": sent, "missing": missing},
        result_url="/panel/donations/tax-receipts/",
    )
