"""Social accounts a nation posts to (X, Mastodon), its posts, and each post's result per account.

A post to one account is one `comms.Delivery` (channel "social", no blast): the pipeline claims,
rate-limits, retries and reaps it like an email. `PostTarget` ties the post and the account to
that delivery and keeps what the network answered (the status id and its link), so a retried
delivery that already went through is never posted again."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.crypto import EncryptedTextField


class Network(models.TextChoices):
    X = "x", "X (Twitter)"
    MASTODON = "mastodon", "Mastodon"


LIMITS = {Network.X: 280, Network.MASTODON: 500}


class SocialAccount(models.Model):
    class Status(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        RECONNECT = "reconnect", _("Needs reconnecting")

    network = models.CharField(max_length=10, choices=Network.choices)
    handle = models.CharField(max_length=200)  # @name (X) or @name@instance (Mastodon)
    remote_id = models.CharField(max_length=100)
    instance_url = models.URLField(blank=True)  # Mastodon only
    access_token = EncryptedTextField(blank=True)
    access_secret = EncryptedTextField(blank=True)  # X only (OAuth 1.0a token secret)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CONNECTED)
    status_message = models.CharField(max_length=300, blank=True)
    autopost = models.BooleanField(_("post new blog posts and events automatically"), default=False)
    connected_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["network", "handle", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["network", "instance_url", "remote_id"], name="socialaccount_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.handle} ({self.get_network_display()})"

    @property
    def limit(self) -> int:
        return LIMITS[Network(self.network)]

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED


class SocialPost(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Posting")
        DONE = "done", _("Posted")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    text = models.TextField(_("text"))
    accounts = models.ManyToManyField(SocialAccount, through="PostTarget", related_name="posts")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    scheduled_at = models.DateTimeField(_("post at"), default=timezone.now)
    launched_at = models.DateTimeField(null=True, blank=True)
    # An automatic post names its page: one post per page, however often it is republished.
    page_id = models.BigIntegerField(null=True, blank=True, unique=True)
    created_by_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-scheduled_at", "-id"]
        indexes = [models.Index(fields=["status", "scheduled_at"], name="socialpost_due")]

    def __str__(self) -> str:
        return self.text[:60]


class PostTarget(models.Model):
    """One post on one account: its delivery in the pipeline and the network's answer."""

    post = models.ForeignKey(SocialPost, on_delete=models.CASCADE, related_name="targets")
    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="targets")
    text = models.TextField()  # as posted on this account
    delivery = models.OneToOneField(
        "comms.Delivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    remote_id = models.CharField(max_length=100, blank=True)
    remote_url = models.URLField(max_length=500, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["post", "account"], name="posttarget_once"),
        ]


class AutoPostSettings(models.Model):
    """The nation's template for automatic posts (one row, pk=1)."""

    template = models.TextField(
        _("template"),
        default="{{ page.title }} {{ page.url }}",
        help_text=_(
            "Liquid: {{ page.title }}, {{ page.url }}, {{ page.intro }}, {{ page.kind }}, "
            "{{ page.starts_at }}, {{ page.venue }}."
        ),
    )
    updated_at = models.DateTimeField(default=timezone.now)
