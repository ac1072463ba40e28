"""A nation's public website: pages of several kinds, what visitors submit through them, media,
menus, redirects, theme overrides and the site's settings. Writes go through actions.py."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Page(models.Model):
    class Kind(models.TextChoices):
        BASIC = "basic", _("Basic page")
        BLOG = "blog", _("Blog")
        POST = "post", _("Blog post")
        EVENT = "event", _("Event")
        PETITION = "petition", _("Petition")
        SIGNUP = "signup", _("Signup")
        VOLUNTEER = "volunteer", _("Volunteer signup")
        SURVEY = "survey", _("Survey")
        DONATION = "donation", _("Donation page")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("address"), max_length=100, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # A published page is live from publish_at (a scheduled page waits until then).
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    blog = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="posts",
        limit_choices_to={"kind": "blog"},
        verbose_name=_("blog"),
    )
    intro = models.CharField(_("introduction"), max_length=300, blank=True)
    body = models.TextField(_("text"), blank=True, help_text=_("Sanitised HTML"))
    topics = models.JSONField(_("post tags"), default=list, blank=True)  # blog post tags
    # Tags given to every person who submits this page's form.
    tags = models.JSONField(_("tags for people who submit"), default=list, blank=True)
    seo_title = models.CharField(_("SEO title"), max_length=70, blank=True)
    seo_description = models.CharField(_("SEO description"), max_length=160, blank=True)
    social_image = models.ForeignKey(
        "site.Media", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The form
    consent_wording = models.CharField(_("email opt-in wording"), max_length=300, blank=True)
    ask_phone = models.BooleanField(_("ask for a phone number"), default=False)
    ask_address = models.BooleanField(_("ask for city and postal code"), default=True)
    autoresponse_subject = models.CharField(
        _("confirmation email subject"), max_length=200, blank=True
    )
    autoresponse_body = models.TextField(_("confirmation email text"), blank=True)
    thanks_message = models.CharField(_("thank-you message"), max_length=300, blank=True)
    # Petition
    target = models.CharField(_("petition target"), max_length=200, blank=True)
    goal = models.PositiveIntegerField(_("goal"), null=True, blank=True)
    show_signers = models.BooleanField(_("show recent signers"), default=False)
    # Event
    starts_at = models.DateTimeField(_("starts"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    event_timezone = models.CharField(_("time zone"), max_length=64, blank=True)
    venue = models.CharField(_("venue"), max_length=200, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    map_url = models.URLField(_("map link"), blank=True)
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True)
    max_guests = models.PositiveSmallIntegerField(_("guests per RSVP"), default=4)
    cancelled = models.BooleanField(_("cancelled"), default=False)
    # Volunteer, donation: lists edited one item per line in the panel (survey questions are
    # rows of their own, SurveyQuestion, built question by question)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    availability = models.JSONField(_("availability"), default=list, blank=True)
    amounts = models.JSONField(_("suggested amounts"), default=list, blank=True)
    show_in_menu = models.BooleanField(_("show in the menu"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    FORM_KINDS = {"event", "petition", "signup", "volunteer", "survey"}

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            models.Index(fields=["kind", "status", "starts_at"], name="page_kind_status_starts"),
            models.Index(fields=["blog", "status", "-publish_at"], name="page_blog_posts"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return f"/{self.slug}/"

    @property
    def has_form(self) -> bool:
        return self.kind in self.FORM_KINDS

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == self.Status.PUBLISHED and (
            self.publish_at is None or self.publish_at <= now
        )


def live_pages(now=None):
    now = now or timezone.now()
    return Page.objects.filter(status=Page.Status.PUBLISHED).filter(
        Q(publish_at__isnull=True) | Q(publish_at__lte=now)
    )


class SurveyQuestion(models.Model):
    """One question of a survey page. Answers are stored on the Submission under the question's
    wording (as the visitor read it), so renaming or removing a question keeps what was
    already answered, and the export still shows it."""

    class Kind(models.TextChoices):
        SHORT = "short", _("Short text")
        LONG = "long", _("Long text")
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")

    CHOICE_KINDS = {"single", "multiple"}

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="survey_questions")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.SHORT)
    label = models.CharField(_("question"), max_length=300)
    choices = models.JSONField(_("options"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label

    @property
    def has_choices(self) -> bool:
        return self.kind in self.CHOICE_KINDS


class Submission(models.Model):
    """One person's answer to one page: a signature, an RSVP, a signup, survey answers.

    One row per (page, person): submitting again updates it (double click = one signature)."""

    class Status(models.TextChoices):
        DONE = "done", _("Done")
        GOING = "going", _("Going")
        WAITLIST = "waitlist", _("Waiting list")

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="submissions")
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="site_submissions"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DONE)
    guests = models.PositiveSmallIntegerField(default=0)
    answers = models.JSONField(default=dict, blank=True)
    public_name = models.CharField(max_length=100, blank=True)  # first name, if shown publicly
    public_city = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["page", "person"], name="submission_page_person")
        ]
        indexes = [models.Index(fields=["page", "-created_at"], name="submission_page_created")]


class SubmissionToken(models.Model):
    """The idempotency key of one form load: a second POST with it is the same submission."""

    token = models.CharField(max_length=64, unique=True)
    submission = models.ForeignKey(Submission, null=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)


class Intake(models.Model):
    """A form POST accepted while the site is busy, waiting for the intake worker.

    Under a burst (a petition shared widely), a signature is validated, stored here in one
    statement and answered at once; `nations.site.intake` then records it exactly as the
    visitor's request would have (`submission_record`), in order. The row is durable (it is in
    the nation's database, committed before the visitor sees "thank you"), so a crash loses
    nothing: the minute tick restarts the worker. Once recorded, the row is deleted if its share
    code became the person's own; otherwise (they had one already) it stays, without the
    visitor's data, as an alias of their code until the person is erased. A row that could not
    be recorded keeps its data and the reason, for staff."""

    token = models.CharField(max_length=64, unique=True)  # the form load's idempotency key
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="intakes")
    payload = models.JSONField(default=dict, blank=True)
    share_code = models.CharField(max_length=16, unique=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    person = models.ForeignKey(
        "people.Person",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="site_intakes",
        db_index=False,  # intake_person (partial) serves lookups by person
    )
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"],
                name="intake_waiting",
                condition=models.Q(processed_at__isnull=True),
            ),
            models.Index(
                fields=["person"], name="intake_person", condition=models.Q(person__isnull=False)
            ),
        ]


class Media(models.Model):
    file = models.ImageField(upload_to="site/%Y/%m/")
    alt = models.CharField(_("alternative text"), max_length=300, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.alt or self.file.name


class MenuItem(models.Model):
    label = models.CharField(_("label"), max_length=60)
    page = models.ForeignKey(Page, null=True, blank=True, on_delete=models.CASCADE)
    url = models.CharField(_("link"), max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label

    @property
    def href(self) -> str:
        return self.page.get_absolute_url() if self.page_id else self.url


class Redirect(models.Model):
    old_path = models.CharField(_("old address"), max_length=300, unique=True)
    new_path = models.CharField(_("new address"), max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["old_path"]


class TemplateOverride(models.Model):
    """A nation's version of one theme file. `draft` is previewed; `source` is live."""

    theme = models.CharField(max_length=40)
    name = models.CharField(max_length=100)
    source = models.TextField(blank=True)
    draft = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["theme", "name"], name="templateoverride_unique")
        ]


class SiteSettings(models.Model):
    """One row per nation (pk=1)."""

    class Analytics(models.TextChoices):
        NONE = "", _("None")
        PLAUSIBLE = "plausible", "Plausible"
        MATOMO = "matomo", "Matomo"
        GOOGLE = "google", "Google Analytics"

    title = models.CharField(_("site title"), max_length=120, blank=True)
    tagline = models.CharField(_("tagline"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=2, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    home_page = models.ForeignKey(
        Page, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    theme = models.CharField(_("theme"), max_length=40, default="default")
    logo = models.ForeignKey(
        Media, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    favicon = models.ForeignKey(
        Media, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    social_image = models.ForeignKey(
        Media, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    primary_colour = models.CharField(_("main colour"), max_length=7, default="#3730a3")
    accent_colour = models.CharField(_("accent colour"), max_length=7, default="#b42318")
    font = models.CharField(_("font"), max_length=20, default="system")
    analytics = models.CharField(
        _("analytics"), max_length=12, choices=Analytics.choices, default="", blank=True
    )
    analytics_id = models.CharField(_("analytics site id"), max_length=100, blank=True)
    analytics_host = models.CharField(_("analytics server"), max_length=200, blank=True)
    not_found_text = models.TextField(_("404 page text"), blank=True)
    robots_extra = models.TextField(_("extra robots.txt rules"), blank=True)
    allow_indexing = models.BooleanField(_("let search engines index the site"), default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.title
