"""Public schema: a nation's Stripe connected account, and every Connect event received."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tenants.models import Nation


class ConnectedAccount(models.Model):
    """The nation's own Stripe account (Stripe Connect). One per nation; the account id is
    unique so a Connect event's `account` names at most one nation."""

    nation = models.OneToOneField(Nation, on_delete=models.CASCADE, related_name="stripe_account")
    account_id = models.CharField(max_length=64, unique=True)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.account_id} ({self.nation_id})"


class ConnectEvent(models.Model):
    """One row per Connect event id: inserted in the same transaction as the event's effects,
    so an event is applied at most once however often (or concurrently) it is delivered."""

    class Outcome(models.TextChoices):
        PROCESSED = "processed"
        IGNORED = "ignored"
        UNKNOWN_ACCOUNT = "unknown_account"

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64)
    account_id = models.CharField(max_length=64, blank=True)
    nation = models.ForeignKey(Nation, null=True, blank=True, on_delete=models.SET_NULL)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    created = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} ({self.outcome})"
