"""The supporter base of one nation: people and everything attached to them.

Built for a million people per nation: every filter the segment builder offers maps to an
indexed column or an EXISTS on an indexed join table, search runs on one normalised text column
with a trigram index, and nothing needs per-row Python to count. Writes go through actions.py.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import ExtractDay, ExtractMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Consent(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone calls")
    POST = "post", _("Post")


class Person(models.Model):
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    middle_name = models.CharField(_("middle name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    # The primary email and phone, copied from PersonEmail/PersonPhone for filters and lists.
    email = models.EmailField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, help_text="E.164")
    address1 = models.CharField(_("address"), max_length=200, blank=True)
    address2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    birthdate = models.DateField(_("birth date"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    employer = models.CharField(_("employer"), max_length=200, blank=True)
    occupation = models.CharField(_("occupation"), max_length=200, blank=True)
    social = models.JSONField(_("social handles"), default=dict, blank=True)
    support_level = models.PositiveSmallIntegerField(_("support level"), null=True, blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True)
    recruiter = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recruits",
        verbose_name=_("recruited by"),
        db_index=False,  # person_recruiter: partial, most people have no recruiter
    )
    recruiter_code = models.CharField(max_length=16, null=True, blank=True)
    points = models.IntegerField(_("points"), default=0)

    email_consent = models.CharField(
        max_length=10, choices=Consent.choices, default=Consent.UNKNOWN
    )
    sms_consent = models.CharField(max_length=10, choices=Consent.choices, default=Consent.UNKNOWN)
    phone_consent = models.CharField(
        max_length=10, choices=Consent.choices, default=Consent.UNKNOWN
    )
    post_consent = models.CharField(max_length=10, choices=Consent.choices, default=Consent.UNKNOWN)

    # Kept up to date by the donations actions; the segment builder filters on them.
    donations_count = models.PositiveIntegerField(default=0)
    donations_total = models.BigIntegerField(default=0, help_text="minor units")
    first_donation_at = models.DateTimeField(null=True, blank=True)
    last_donation_at = models.DateTimeField(null=True, blank=True)

    # Lowercased, accent-free concatenation of names, emails and phones (people.search).
    search_text = models.TextField(default="", blank=True, editable=False)
    is_erased = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [
            GinIndex(OpClass("search_text", name="gin_trgm_ops"), name="person_search_trgm"),
            # (column, id) pairs serve both the filters and the people list's sorted pages
            # (id is the tiebreak); nullable columns sort "empty as lowest" so one index
            # serves both directions (ASC NULLS FIRST is the backward scan of DESC NULLS LAST).
            models.Index(fields=["email", "id"], name="person_email_id"),  # stored lowercased
            models.Index(fields=["city", "id"], name="person_city_id"),
            models.Index(fields=["phone"], name="person_phone"),
            models.Index(fields=["last_name", "first_name", "id"], name="person_name_sort"),
            models.Index(fields=["created_at", "id"], name="person_created"),
            models.Index(fields=["updated_at"], name="person_updated"),
            models.Index(
                F("last_activity_at").desc(nulls_last=True),
                F("id").desc(),
                name="person_last_activity_id",
            ),
            models.Index(fields=["country", "city"], name="person_country_city"),
            models.Index(
                OpClass("postal_code", name="varchar_pattern_ops"), name="person_postcode_prefix"
            ),
            models.Index(
                F("support_level").desc(nulls_last=True), F("id").desc(), name="person_support_id"
            ),
            # Partial indexes on columns that are empty for most people (and for every row of
            # a typical import): an empty value costs no index write. Each filter that uses one
            # implies its condition (language = 'fr' implies language <> '', a date range
            # implies NOT NULL), so the planner still picks it; "is empty" reads the table.
            models.Index(
                fields=["language"], condition=~Q(language=""), name="person_language_set"
            ),
            models.Index(
                fields=["recruiter"],
                condition=Q(recruiter__isnull=False),
                name="person_recruiter",
            ),
            # Email consent is in nearly every audience (blasts), mostly beside a postal-code
            # prefix: this index answers both (and email consent alone) without reading the
            # table — an index-only scan that also yields the ids to join with taggings.
            models.Index(
                fields=["email_consent", "postal_code"],
                opclasses=["text_ops", "varchar_pattern_ops"],
                include=["id", "is_erased"],
                name="person_consent_postcode",
            ),
            models.Index(
                fields=["sms_consent"],
                condition=~Q(sms_consent="unknown"),
                name="person_sms_consent_set",
            ),
            models.Index(
                fields=["donations_total"],
                condition=Q(donations_total__gt=0),
                name="person_donations_total_set",
            ),
            models.Index(
                fields=["last_donation_at"],
                condition=Q(last_donation_at__isnull=False),
                name="person_last_donation_set",
            ),
            # Birthday automations read today's birthdays (month, day) at every tick.
            models.Index(
                ExtractMonth("birthdate"),
                ExtractDay("birthdate"),
                condition=Q(birthdate__isnull=False),
                name="person_birthday",
            ),
            GinIndex(fields=["custom"], name="person_custom", opclasses=["jsonb_path_ops"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="person_external_id_set_unique",
            ),
            models.UniqueConstraint(
                fields=["recruiter_code"],
                condition=Q(recruiter_code__isnull=False),
                name="person_recruiter_code_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(support_level__gte=1, support_level__lte=5)
                | models.Q(support_level__isnull=True),
                name="person_support_1_5",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)


class PersonEmail(models.Model):
    class Status(models.TextChoices):
        OK = "ok", _("OK")
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Marked as spam")

    # db_index=False: personemail_unique (person, address) serves lookups by person.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="emails", db_index=False
    )
    address = models.EmailField(max_length=254)
    is_primary = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OK)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(fields=["address"], name="personemail_address")]  # lowercased
        constraints = [
            models.UniqueConstraint(fields=["person", "address"], name="personemail_unique")
        ]

    def __str__(self) -> str:
        return self.address


class PersonPhone(models.Model):
    class Kind(models.TextChoices):
        MOBILE = "mobile", _("Mobile")
        LANDLINE = "landline", _("Landline")
        UNKNOWN = "unknown", _("Unknown")

    # db_index=False: personphone_unique (person, number) serves lookups by person.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="phones", db_index=False
    )
    number = models.CharField(max_length=20, help_text="E.164")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.UNKNOWN)
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(fields=["number"], name="personphone_number")]
        constraints = [
            models.UniqueConstraint(fields=["person", "number"], name="personphone_unique")
        ]

    def __str__(self) -> str:
        return self.number


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tagging(models.Model):
    # No single-column indexes: tagging_unique (person, tag) and tagging_tag_person (tag,
    # person) serve both directions, and every index costs a write per tagging (imports).
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="taggings", db_index=False
    )
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="taggings", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "tag"], name="tagging_unique")]
        indexes = [models.Index(fields=["tag", "person"], name="tagging_tag_person")]


class PeopleList(models.Model):
    """A static list: hand-picked people (segments are the dynamic kind)."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ListMembership(models.Model):
    people_list = models.ForeignKey(
        PeopleList, on_delete=models.CASCADE, related_name="memberships"
    )
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="list_memberships")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["people_list", "person"], name="listmembership_unique")
        ]
        indexes = [models.Index(fields=["person"], name="listmembership_person")]


class Segment(models.Model):
    """A saved filter (people.filters): its members are computed, never stored."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    definition = models.JSONField(default=dict)
    created_by_id = models.BigIntegerField(null=True, blank=True)  # tenants.User (public schema)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomField(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")

    slug = models.SlugField(max_length=50, unique=True)
    label = models.CharField(_("label"), max_length=100)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label


class Note(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="notes")
    author_id = models.BigIntegerField(null=True, blank=True)
    author_name = models.CharField(max_length=150, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["person", "-created_at"], name="note_person")]

    def __str__(self) -> str:
        return self.body[:50]


class ContactLog(models.Model):
    class Method(models.TextChoices):
        CALL = "call", _("Phone call")
        DOOR = "door", _("Door knock")
        EMAIL = "email", _("Email")
        SMS = "sms", _("Text message")
        MEETING = "meeting", _("Meeting")
        OTHER = "other", _("Other")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        LEFT_MESSAGE = "left_message", _("Left a message")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        REFUSED = "refused", _("Refused")
        OTHER = "other", _("Other")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="contacts")
    author_id = models.BigIntegerField(null=True, blank=True)
    author_name = models.CharField(max_length=150, blank=True)
    method = models.CharField(max_length=10, choices=Method.choices)
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    notes = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["person", "-at"], name="contactlog_person")]


class Activity(models.Model):
    """One line of a person's timeline. Written by actions, never edited."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Added")
        UPDATED = "updated", _("Edited")
        IMPORTED = "imported", _("Imported")
        MERGED = "merged", _("Merged")
        TAGGED = "tagged", _("Tagged")
        UNTAGGED = "untagged", _("Untagged")
        LISTED = "listed", _("Added to a list")
        UNLISTED = "unlisted", _("Removed from a list")
        NOTE = "note", _("Note")
        CONTACT = "contact", _("Contact")
        CONSENT = "consent", _("Consent changed")
        SIGNED = "signed", _("Signed")
        RSVP = "rsvp", _("RSVP")
        DONATED = "donated", _("Donated")
        EMAIL_SENT = "email_sent", _("Received an email")
        EMAIL_OPENED = "email_opened", _("Opened an email")
        EMAIL_CLICKED = "email_clicked", _("Clicked in an email")
        SMS_SENT = "sms_sent", _("Received a text")
        SMS_RECEIVED = "sms_received", _("Sent a text")
        CALLED = "called", _("Called")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        RECRUITED = "recruited", _("Recruited someone")
        ERASED = "erased", _("Erased")
        OTHER = "other", _("Other")

    # db_index=False: activity_person_at (person, -at, -id) serves lookups by person.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    summary = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)  # staff user, if a human did it
    actor_name = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["person", "-at", "-id"], name="activity_person_at"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.summary}"


class ConsentChange(models.Model):
    """The history behind Person.<channel>_consent: who, when, how, and the wording shown."""

    # db_index=False: consent_person_channel (person, channel, -at) serves lookups by person.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="consent_changes", db_index=False
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Consent.choices)
    source = models.CharField(
        max_length=100
    )  # "import:42", "page:petition-x", "panel", "unsubscribe"
    wording = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["person", "channel", "-at"], name="consent_person_channel")]


class Tombstone(models.Model):
    """What is left of an erased person: hashes that stop an import from bringing them back."""

    email_hash = models.CharField(max_length=64, blank=True, db_index=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    erased_at = models.DateTimeField(default=timezone.now)
    erased_by_id = models.BigIntegerField(null=True, blank=True)


class Merge(models.Model):
    survivor = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="merges")
    merged_person_id = models.BigIntegerField()
    merged_snapshot = models.JSONField(default=dict)
    actor_id = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)


class DuplicateDismissal(models.Model):
    """Staff said these two are different people: the duplicates finder stops proposing them.

    Stored with the lower id first; a merge moves the row like any other (a pair left pointing
    at one person twice is never proposed anyway)."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="dismissals", db_index=False
    )
    other = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="dismissed_by")
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "other"], name="duplicatedismissal_unique")
        ]
