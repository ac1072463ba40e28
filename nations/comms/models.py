"""Communication: sender identities, blasts, and the channel-agnostic delivery pipeline.

A `Delivery` is one message to one recipient on one channel (email today; SMS, voice and social
posts reuse the same rows, claim query, rate limits and report). Blasts snapshot their audience
into deliveries when they start; transactional messages (autoresponses, receipts) are single
deliveries with a higher priority and their rendered content in `payload`. See pipeline.py.
"""

from __future__ import annotations

from datetime import time

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.crypto import EncryptedTextField


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voice")
    SOCIAL = "social", _("Social")


class Broadcaster(models.Model):
    """A sender identity: who a message is from, where replies go, the postal footer."""

    name = models.CharField(_("sender name"), max_length=100)
    from_email = models.EmailField(_("from address"))
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    postal_address = models.TextField(
        _("postal address"),
        blank=True,
        help_text=_("Shown in every email's footer (the law asks for it)."),
    )
    dkim_selector = models.CharField(max_length=40, default="nations")
    dkim_private_key = models.TextField(blank=True, editable=False)
    dkim_public_key = models.TextField(blank=True, editable=False)
    domain_verified_at = models.DateTimeField(null=True, blank=True)
    domain_check_error = models.CharField(max_length=300, blank=True)
    # The last DNS check, per record: {"checked_at": iso, "records": [{"purpose", "status",
    # "found"}]} (domain.py); shown beside the records to publish.
    dns_status = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} <{self.from_email}>"

    @property
    def domain(self) -> str:
        return self.from_email.rsplit("@", 1)[-1].lower()


class Blast(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        PREPARING = "preparing", _("Preparing")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")

    class Audience(models.TextChoices):
        SEGMENT = "segment", _("A segment")
        LIST = "list", _("A list")
        EVERYONE = "everyone", _("Everyone with email consent")

    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    name = models.CharField(_("internal name"), max_length=200, blank=True)
    broadcaster = models.ForeignKey(
        Broadcaster, null=True, on_delete=models.PROTECT, verbose_name=_("from")
    )
    subject = models.CharField(_("subject"), max_length=200)
    preheader = models.CharField(
        _("preheader"),
        max_length=200,
        blank=True,
        help_text=_("The grey line inboxes show after the subject."),
    )
    body_html = models.TextField(_("message"), blank=True)
    # A/B test on the subject: `ab_percent` % of the audience gets subject A, as many get
    # subject B; the rest is held until `ab_decide_at`, then gets the winner (abtest.py).
    subject_b = models.CharField(_("subject B"), max_length=200, blank=True)
    ab_percent = models.PositiveSmallIntegerField(_("test group size"), default=0)
    ab_wait_hours = models.PositiveSmallIntegerField(_("wait before picking the winner"), default=4)
    ab_metric = models.CharField(
        _("winner by"),
        max_length=10,
        choices=[("opens", _("Opens")), ("clicks", _("Clicks"))],
        default="opens",
    )
    ab_decide_at = models.DateTimeField(null=True, blank=True)
    ab_winner = models.CharField(max_length=1, blank=True)

    # SMS and voice: the text (Liquid merge fields; for voice, what text-to-speech reads when
    # no audio file is given), the sender number or alphanumeric id, the recorded message, and
    # the staff number a callee reaches by pressing 1.
    text = models.TextField(_("message"), blank=True)
    sender = models.CharField(_("from"), max_length=20, blank=True)
    audio = models.FileField(_("audio message"), upload_to="voice/%Y/%m/", blank=True)
    forward_to = models.CharField(_("staff number for “press 1”"), max_length=20, blank=True)
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.SEGMENT)
    segment = models.ForeignKey(
        "people.Segment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    people_list = models.ForeignKey(
        "people.PeopleList", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    status_message = models.CharField(max_length=300, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The links of the body, in order: a click URL names an index, never a destination, so the
    # redirect can only go where the staff member's own message pointed.
    links = models.JSONField(default=list, blank=True)
    total = models.BigIntegerField(default=0)
    sent_count = models.BigIntegerField(default=0)
    failed_count = models.BigIntegerField(default=0)
    skipped_count = models.BigIntegerField(default=0)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_by_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "scheduled_at"], name="blast_status_due")]

    def __str__(self) -> str:
        return self.name or self.subject

    @property
    def queued_count(self) -> int:
        return max(0, self.total - self.sent_count - self.failed_count - self.skipped_count)

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == self.Status.SENT else 0
        return min(100, int((self.total - self.queued_count) * 100 / self.total))

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.SCHEDULED)

    @property
    def is_ab(self) -> bool:
        return bool(self.ab_percent and self.subject_b.strip())

    @property
    def winning_subject(self) -> str:
        return self.subject_b if self.ab_winner == "b" else self.subject

    @property
    def is_live(self) -> bool:
        return self.status in (self.Status.PREPARING, self.Status.SENDING, self.Status.PAUSED)


class Delivery(models.Model):
    """One message to one recipient. queued -> sending -> sent | failed (or skipped, cancelled).

    `message_id` is fixed before the message is handed to the backend, so a crash between the
    hand-over and the status update can be settled without a second send (pipeline.reap)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        HELD = "held", _("Waiting for the A/B test's winner")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")
        CANCELLED = "cancelled", _("Cancelled")

    PRIORITY_BLAST = 0
    PRIORITY_BLAST_PLUS = 5  # plans with the priority_queue feature
    PRIORITY_TRANSACTIONAL = 10
    # A set-password link is a credential: its content is dropped once settled (pipeline.mark).
    KIND_PASSWORD_RESET = "password_reset"

    id = models.BigAutoField(primary_key=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    blast = models.ForeignKey(
        Blast, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    # No foreign key: a snapshot of a million rows must not pay a per-row key check, and an
    # erased person's deliveries are anonymised by address, not cascaded.
    person_id = models.BigIntegerField(null=True, blank=True)
    address = models.CharField(max_length=254)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    priority = models.SmallIntegerField(default=0)
    kind = models.CharField(max_length=30, default="blast")  # blast, autoresponse, receipt...
    # A/B test group: "a" or "b"; "" for everyone else (who get the winning subject)
    variant = models.CharField(max_length=1, blank=True, default="")
    payload = models.JSONField(null=True, blank=True)  # transactional: the rendered message
    message_id = models.CharField(max_length=200, blank=True)
    # SMS and voice: Twilio's message or call SID (status callbacks find the row by it), and
    # what became of it (delivered, undelivered; answered, voicemail, no-answer, busy, failed).
    provider_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=20, blank=True)
    claimed_by = models.CharField(max_length=80, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.SmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The claims: transactional messages by priority then age; a blast's rows by id.
            models.Index(
                "channel",
                models.F("priority").desc(),
                "id",
                name="delivery_claim_tx",
                condition=Q(status="queued", blast__isnull=True),
            ),
            models.Index(
                fields=["blast", "id"], name="delivery_claim_blast", condition=Q(status="queued")
            ),
            models.Index(fields=["blast", "status"], name="delivery_blast_status"),
            models.Index(
                fields=["claimed_at"], name="delivery_sending", condition=Q(status="sending")
            ),
            models.Index(fields=["person_id"], name="delivery_person"),
            models.Index(
                fields=["provider_id"], name="delivery_provider", condition=~Q(provider_id="")
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["blast", "address"],
                name="delivery_once_per_blast",
                condition=Q(blast__isnull=False),
            )
        ]


class DeliveryEvent(models.Model):
    """What happened after the hand-over: delivered, opened, clicked, bounced, complained,
    unsubscribed. Provider events carry their id under a unique constraint (replays are no-ops)."""

    class Kind(models.TextChoices):
        DELIVERED = "delivered", _("Delivered")
        OPENED = "opened", _("Opened")
        CLICKED = "clicked", _("Clicked")
        BOUNCED = "bounced", _("Bounced")
        DEFERRED = "deferred", _("Soft bounce")
        COMPLAINED = "complained", _("Marked as spam")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="events")
    blast_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=15, choices=Kind.choices)
    link = models.SmallIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    provider_event_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["blast_id", "kind", "at"], name="deliveryevent_blast")]


class SendingBackend(models.Model):
    """A nation's own way out (one row, pk=1): its SMTP relay or its ESP account instead of the
    platform's. Secrets are encrypted at rest (config.crypto)."""

    class Kind(models.TextChoices):
        PLATFORM = "platform", _("The platform's sending service")
        SMTP = "smtp", _("Our own SMTP relay")
        ESP = "esp", _("Our own email service provider account")

    class Esp(models.TextChoices):
        MAILGUN = "mailgun", "Mailgun"
        POSTMARK = "postmark", "Postmark"
        BREVO = "brevo", "Brevo"
        SENDGRID = "sendgrid", "SendGrid"

    kind = models.CharField(
        _("send through"), max_length=10, choices=Kind.choices, default="platform"
    )
    smtp_host = models.CharField(_("SMTP host"), max_length=200, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_username = models.CharField(_("SMTP user name"), max_length=200, blank=True)
    smtp_password = EncryptedTextField(_("SMTP password"), blank=True)
    smtp_security = models.CharField(
        _("connection security"),
        max_length=10,
        choices=[("starttls", "STARTTLS"), ("ssl", "SSL/TLS"), ("none", _("None (local relay)"))],
        default="starttls",
    )
    esp = models.CharField(_("provider"), max_length=20, choices=Esp.choices, blank=True)
    esp_api_key = EncryptedTextField(_("API key"), blank=True)
    esp_sender_domain = models.CharField(
        _("sending domain at the provider"),
        max_length=200,
        blank=True,
        help_text=_("Mailgun only: the domain your Mailgun account sends from."),
    )
    updated_at = models.DateTimeField(default=timezone.now)


class TwilioAccount(models.Model):
    """The nation's SMS and voice settings (one row): its own Twilio account or the platform's,
    sender numbers / alphanumeric ids, quiet hours and the staff number calls forward to."""

    class Mode(models.TextChoices):
        PLATFORM = "platform", _("The platform's account (billed with your plan)")
        OWN = "own", _("Our own Twilio account")

    mode = models.CharField(
        _("account"), max_length=10, choices=Mode.choices, default=Mode.PLATFORM
    )
    account_sid = models.CharField(_("account SID"), max_length=40, blank=True)
    auth_token = EncryptedTextField(_("auth token"), blank=True)
    senders = models.JSONField(_("senders"), default=list, blank=True)
    quiet_start = models.TimeField(_("quiet hours start"), default=time(21, 0))
    quiet_end = models.TimeField(_("quiet hours end"), default=time(8, 0))
    forward_to = models.CharField(_("staff number for “press 1”"), max_length=20, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)


class InboundMessage(models.Model):
    """A text someone sent to one of the nation's numbers (the Inbox)."""

    provider_id = models.CharField(max_length=64, unique=True)
    from_number = models.CharField(max_length=20)
    to_number = models.CharField(max_length=20)
    body = models.TextField(blank=True)
    person_id = models.BigIntegerField(null=True, blank=True)
    keyword = models.CharField(max_length=10, blank=True)  # stop / start when it was one
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["from_number"], name="inbound_from")]
