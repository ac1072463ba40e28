"""Donations in one nation's schema: the gifts, recurring gifts, the nation's fundraising
settings (contribution rules), and French tax receipts with their gapless counter.

Amounts are integers in minor units (cents) of `currency`. Writes go through actions.py."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

CURRENCIES = ("EUR", "USD", "GBP", "CAD")


class Rules(models.TextChoices):
    NONE = "none", _("No contribution rules")
    FR_PARTY = "fr_party", _("France — political party")
    FR_CANDIDATE = "fr_candidate", _("France — candidate")
    US_FEDERAL = "us_federal", _("United States — federal campaign")


# Preset values, in minor units; staff may edit them after choosing a preset.
RULE_PRESETS: dict[str, dict] = {
    Rules.NONE: {"annual_limit": None, "election_limit": None, "itemize_threshold": None},
    Rules.FR_PARTY: {"annual_limit": 750_000, "election_limit": None, "itemize_threshold": None},
    Rules.FR_CANDIDATE: {
        "annual_limit": None,
        "election_limit": 460_000,
        "itemize_threshold": None,
    },
    Rules.US_FEDERAL: {
        "annual_limit": None,
        "election_limit": 330_000,
        "itemize_threshold": 20_000,
    },
}


class DonationSettings(models.Model):
    """One row: the nation's fundraising settings."""

    rules = models.CharField(
        _("contribution rules"), max_length=16, choices=Rules.choices, default=Rules.NONE
    )
    annual_limit = models.BigIntegerField(
        _("maximum per donor per calendar year"), null=True, blank=True
    )
    election_limit = models.BigIntegerField(
        _("maximum per donor per election"), null=True, blank=True
    )
    election_name = models.CharField(_("election"), max_length=100, blank=True)
    election_starts = models.DateField(_("counting gifts from"), null=True, blank=True)
    itemize_threshold = models.BigIntegerField(
        _("employer and occupation required above"), null=True, blank=True
    )
    min_amount = models.BigIntegerField(_("minimum gift"), default=100)
    max_amount = models.BigIntegerField(_("maximum gift"), default=1_000_000)
    cover_fees = models.BooleanField(_("offer to cover the fees"), default=True)
    fee_percent = models.DecimalField(
        _("fee to cover (%)"), max_digits=4, decimal_places=2, default=Decimal("3")
    )
    organisation_name = models.CharField(
        _("organisation (on tax receipts)"), max_length=200, blank=True
    )
    organisation_address = models.CharField(_("organisation address"), max_length=300, blank=True)
    organisation_id = models.CharField(_("registration number"), max_length=60, blank=True)
    receipt_signatory = models.CharField(_("signed by"), max_length=120, blank=True)

    def __str__(self) -> str:
        return f"donation settings ({self.rules})"

    @property
    def natural_persons_only(self) -> bool:
        return self.rules in (Rules.FR_PARTY, Rules.FR_CANDIDATE)

    @property
    def requires_attestation(self) -> bool:
        return self.rules in (Rules.FR_PARTY, Rules.FR_CANDIDATE)


class RecurringDonation(models.Model):
    """A monthly or yearly gift: a Stripe subscription on the nation's account."""

    class Interval(models.TextChoices):
        MONTH = "month", _("Monthly")
        YEAR = "year", _("Yearly")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Payment failed")
        CANCELED = "canceled", _("Cancelled")
        INCOMPLETE = "incomplete", _("Incomplete")
        PAUSED = "paused", _("Paused")

    class StopReason(models.TextChoices):
        NONE = "", _("None")
        ANNUAL_LIMIT = "annual_limit", _("Yearly limit per donor reached")
        ELECTION_LIMIT = "election_limit", _("Limit per donor for this election reached")

    person = models.ForeignKey(
        "people.Person", null=True, on_delete=models.SET_NULL, related_name="recurring_donations"
    )
    page = models.ForeignKey(
        "site.Page", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    interval = models.CharField(max_length=5, choices=Interval.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=64, blank=True)
    stripe_subscription_id = models.CharField(max_length=64, unique=True)
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    manage_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    canceled_at = models.DateTimeField(null=True, blank=True)
    # Why the rules stopped or paused it (a renewal that would pass a cap is never charged).
    stop_reason = models.CharField(
        max_length=16, choices=StopReason.choices, default="", blank=True
    )
    paused_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}/{self.interval} ({self.status})"

    @property
    def monthly_amount(self) -> int:
        return self.amount if self.interval == self.Interval.MONTH else round(self.amount / 12)


class Donation(models.Model):
    """One gift: a one-time payment, or one payment (first or renewal) of a recurring gift.

    Created `pending` before the donor goes to Checkout (one row per form load: `intent_key`
    is unique, so a double click or a resubmit finds the same row); only Stripe's word
    (webhook, or the session fetched on return) makes it `paid`."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        REFUNDED = "refunded", _("Refunded")
        EXPIRED = "expired", _("Abandoned")

    class Dispute(models.TextChoices):
        NONE = "", _("None")
        OPEN = "open", _("Disputed")
        WON = "won", _("Dispute won")
        LOST = "lost", _("Dispute lost")

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # public id
    intent_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="donations"
    )
    page = models.ForeignKey(
        "site.Page", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recurring = models.ForeignKey(
        RecurringDonation, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    interval = models.CharField(max_length=5, blank=True)  # "", "month", "year": what was asked
    amount = models.BigIntegerField()  # what the donor pays, fees covered included
    fee_covered = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    dispute = models.CharField(max_length=5, choices=Dispute.choices, default="", blank=True)
    refunded_amount = models.BigIntegerField(default=0)
    source = models.CharField(max_length=64, blank=True)
    # who gave (kept on the gift: receipts and rules need the donor's identity at the time)
    email = models.EmailField()
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    address1 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    employer = models.CharField(max_length=200, blank=True)
    occupation = models.CharField(max_length=200, blank=True)
    attestation = models.BooleanField(default=False)
    language = models.CharField(max_length=8, blank=True)
    election = models.CharField(max_length=100, blank=True)
    stripe_checkout_session_id = models.CharField(
        max_length=255, unique=True, null=True, blank=True
    )
    stripe_payment_intent_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    stripe_invoice_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    receipt_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "paid_at"], name="donation_status_paid"),
            models.Index(fields=["person", "paid_at"], name="donation_person_paid"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.status})"

    @property
    def net(self) -> int:
        """What the nation keeps: nothing of a lost dispute, the unrefunded part otherwise."""
        if (
            self.status not in (self.Status.PAID, self.Status.REFUNDED)
            or self.dispute == self.Dispute.LOST
        ):
            return 0
        return self.amount - self.refunded_amount


COUNTED = Q(status__in=["paid", "refunded"]) & ~Q(dispute="lost")


class TaxReceipt(models.Model):
    """A yearly French tax receipt ("reçu fiscal") for one donor: numbered without gaps."""

    person = models.ForeignKey(
        "people.Person", null=True, on_delete=models.SET_NULL, related_name="tax_receipts"
    )
    year = models.PositiveSmallIntegerField()
    serial = models.PositiveIntegerField()
    number = models.CharField(max_length=20, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    donor_name = models.CharField(max_length=200)
    donor_address = models.CharField(max_length=400)
    gifts = models.JSONField(default=list)
    issued_at = models.DateTimeField(default=timezone.now)
    # Set in the transaction that queues the email: a receipt is emailed once, however often
    # the yearly send runs.
    emailed_at = models.DateTimeField(null=True, blank=True)
    emailed_to = models.EmailField(blank=True)

    class Meta:
        ordering = ["year", "serial"]
        constraints = [
            models.UniqueConstraint(fields=["year", "serial"], name="taxreceipt_year_serial"),
            models.UniqueConstraint(fields=["person", "year"], name="taxreceipt_person_year"),
        ]

    def __str__(self) -> str:
        return self.number


class TaxReceiptCounter(models.Model):
    """The last serial used per year, bumped in the transaction that issues a receipt: a
    rolled-back issue gives its number back, so the sequence has no gaps."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)
