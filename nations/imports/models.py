"""An import of people from a file: the upload, how its columns map to a person, where it got
to, and every row it turned down.

`offset` is the number of data rows already applied. Each chunk of rows is applied, its
rejections stored and `offset` moved forward in one transaction, so after a crash the import
resumes at the first row that was not committed: never half a chunk, never half a row."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MatchRule(models.TextChoices):
    EMAIL = "email", _("Email address")
    PHONE = "phone", _("Phone number")
    EXTERNAL_ID = "external_id", _("External id")


class OnMatch(models.TextChoices):
    FILL = "fill", _("Fill in empty fields only")
    OVERWRITE = "overwrite", _("Overwrite with the file's values")
    SKIP = "skip", _("Leave them as they are (skip the row)")


class DateOrder(models.TextChoices):
    DAY_FIRST = "dmy", _("Day first (31/12/1980)")
    MONTH_FIRST = "mdy", _("Month first (12/31/1980)")


class Import(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Not started")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Stopped")

    file = models.CharField(max_length=300)  # name in the nation's default storage
    original_name = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    kind = models.CharField(max_length=5, default="csv")  # csv | xlsx
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)  # column index (str) -> field name
    match_rule = models.CharField(max_length=12, choices=MatchRule.choices, default=MatchRule.EMAIL)
    on_match = models.CharField(max_length=10, choices=OnMatch.choices, default=OnMatch.FILL)
    date_order = models.CharField(
        max_length=3, choices=DateOrder.choices, default=DateOrder.DAY_FIRST
    )
    default_region = models.CharField(max_length=2, default="FR")
    extra_tags = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    job = models.OneToOneField(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="people_import"
    )
    total_rows = models.BigIntegerField(null=True, blank=True)
    offset = models.BigIntegerField(default=0)  # data rows applied (committed) so far
    created = models.BigIntegerField(default=0)
    updated = models.BigIntegerField(default=0)
    skipped = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_by_name = models.CharField(max_length=150, blank=True)
    language = models.CharField(max_length=8, blank=True)  # of the report's messages
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def source(self) -> str:
        return f"import:{self.pk}"

    @property
    def delimiter_name(self) -> str:
        names = {",": _("comma"), ";": _("semicolon"), "\t": _("tab"), "|": _("vertical bar")}
        return str(names.get(self.delimiter, self.delimiter))

    @property
    def encoding_name(self) -> str:
        names = {
            "utf-8": "UTF-8",
            "utf-8-sig": "UTF-8",
            "utf-16": "UTF-16",
            "utf-16-le": "UTF-16",
            "utf-16-be": "UTF-16",
            "cp1252": "Windows (Latin-1)",
            "latin-1": "Latin-1",
        }
        return names.get(self.encoding, self.encoding)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ImportRejection(models.Model):
    """A row of the file that was not imported, with its line number and the reason."""

    people_import = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="rejections")
    line = models.BigIntegerField()  # line of the file (1 = header); a record's first line
    reason = models.CharField(max_length=500)
    raw = models.TextField(blank=True)  # the row as read, cut short

    class Meta:
        ordering = ["line", "id"]
        indexes = [models.Index(fields=["people_import", "line"], name="importrejection_line")]
