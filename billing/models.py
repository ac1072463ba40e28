"""Billing lives in the public schema: the plan catalogue, one subscription per nation, monthly
usage meters, and the log of Stripe events (one row per event id, under a unique constraint)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import Nation

# The limits a plan sets, by the name callers use (billing.limits.ensure_within(nation, NAME)).
LIMIT_FIELDS = {
    "people": "people_limit",
    "emails": "emails_per_month",
    "sms": "sms_per_month",
    "staff": "staff_seats",
    "domains": "custom_domains",
}
MONTHLY_METRICS = ("emails", "sms")


class Plan(models.Model):
    """One offer of the catalogue. Limits of None mean unlimited. A retired plan (is_active
    False) keeps its subscribers but is no longer offered."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    currency = models.CharField(max_length=3, default="usd")
    monthly_cents = models.PositiveIntegerField()
    yearly_cents = models.PositiveIntegerField(help_text="Price of a year, billed yearly")
    people_limit = models.PositiveIntegerField(null=True, blank=True)
    emails_per_month = models.PositiveIntegerField(null=True, blank=True)
    sms_per_month = models.PositiveIntegerField(null=True, blank=True)
    staff_seats = models.PositiveIntegerField(null=True, blank=True)
    custom_domains = models.PositiveIntegerField(null=True, blank=True)
    features = models.JSONField(default=list, blank=True)
    api_rate_per_minute = models.PositiveIntegerField(default=60)
    is_active = models.BooleanField(default=True)
    stripe_product_id = models.CharField(max_length=64, blank=True)
    stripe_monthly_price_id = models.CharField(max_length=64, blank=True)
    stripe_yearly_price_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["position", "monthly_cents"]

    def __str__(self) -> str:
        return self.name

    def limit(self, name: str) -> int | None:
        return getattr(self, LIMIT_FIELDS[name])

    def price_cents(self, interval: str) -> int:
        return self.yearly_cents if interval == "year" else self.monthly_cents

    def price_id(self, interval: str) -> str:
        return self.stripe_yearly_price_id if interval == "year" else self.stripe_monthly_price_id

    @property
    def yearly_per_month_cents(self) -> int:
        return round(self.yearly_cents / 12)


class Subscription(models.Model):
    """A nation's standing with the platform. `status` is ours (what the nation may do);
    `stripe_status` mirrors Stripe's. Transitions: billing.state."""

    class Status(models.TextChoices):
        TRIALING = "trialing", _("Trial")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Payment due")
        READ_ONLY = "read_only", _("Read-only")
        SUSPENDED = "suspended", _("Suspended")

    class Interval(models.TextChoices):
        MONTH = "month", _("Monthly")
        YEAR = "year", _("Yearly")

    nation = models.OneToOneField(Nation, on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    interval = models.CharField(max_length=5, choices=Interval.choices, default=Interval.MONTH)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.TRIALING, db_index=True
    )
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    billing_anchor = models.DateTimeField(default=timezone.now)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    # When payment stopped (failed renewal, end of trial or of a cancelled period): the grace
    # periods of billing.state count from here.
    dunning_since = models.DateTimeField(null=True, blank=True)
    past_due_notified_at = models.DateTimeField(null=True, blank=True)
    suspended_by_billing = models.BooleanField(default=False)
    comped = models.BooleanField(default=False)
    coupon = models.CharField(max_length=64, blank=True)
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    stripe_subscription_id = models.CharField(max_length=64, blank=True)
    stripe_status = models.CharField(max_length=24, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_customer_id"],
                condition=~Q(stripe_customer_id=""),
                name="billing_subscription_unique_customer",
            ),
            models.UniqueConstraint(
                fields=["stripe_subscription_id"],
                condition=~Q(stripe_subscription_id=""),
                name="billing_subscription_unique_stripe_sub",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nation_id}: {self.plan_id} ({self.status})"

    @property
    def is_paying(self) -> bool:
        return bool(self.stripe_subscription_id) and self.stripe_status in (
            "active",
            "past_due",
            "unpaid",
        )

    @property
    def mrr_cents(self) -> int:
        if self.comped or self.stripe_status not in ("active", "past_due"):
            return 0
        if self.interval == self.Interval.YEAR:
            return round(self.plan.yearly_cents / 12)
        return self.plan.monthly_cents


class UsageMeter(models.Model):
    """Monthly usage of a metered resource. A new billing month is a new row: the meter resets
    on the billing anchor without a job. Incremented with one INSERT … ON CONFLICT."""

    nation = models.ForeignKey(Nation, on_delete=models.CASCADE, related_name="usage_meters")
    metric = models.CharField(max_length=16)
    period_start = models.DateTimeField()
    used = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["nation", "metric", "period_start"], name="billing_meter_unique_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nation_id} {self.metric} {self.period_start:%Y-%m-%d}: {self.used}"


class WebhookEvent(models.Model):
    """Every Stripe event received. The unique event id is what makes processing happen once."""

    class Outcome(models.TextChoices):
        PROCESSED = "processed"
        IGNORED = "ignored"
        UNKNOWN_CUSTOMER = "unknown_customer"

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64)
    created = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    nation = models.ForeignKey(Nation, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} ({self.outcome})"
