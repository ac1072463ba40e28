"""Automations (NationBuilder's paths, Action Network's ladders): a trigger enrols people, who
then walk an ordered list of steps, one Enrolment row per person and pass.

Built for a million people per nation: the engine (engine.py) only reads enrolments that are
due (`next_run_at <= now`, a partial index over active rows) and new timeline entries past a
cursor, never the whole people table. Writes go through actions.py; the engine owns runs.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Automation(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    class Trigger(models.TextChoices):
        TAG = "tag", _("Gets a tag")
        LIST = "list", _("Joins a list")
        PAGE = "page", _("Signs or answers a page")
        DONATION = "donation", _("Donates")
        CREATED = "created", _("Days after being added")
        BIRTHDAY = "birthday", _("On their birthday")

    class Reentry(models.TextChoices):
        ONCE = "once", _("Once only")
        AGAIN = "again", _("Again, after leaving")

    name = models.CharField(_("name"), max_length=150)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    trigger = models.CharField(
        _("trigger"), max_length=10, choices=Trigger.choices, default=Trigger.TAG
    )
    trigger_tag = models.CharField(_("tag"), max_length=100, blank=True)
    trigger_list = models.ForeignKey(
        "people.PeopleList",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("list"),
    )
    trigger_page = models.ForeignKey(
        "site.Page",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("page"),
    )
    trigger_min_amount = models.BigIntegerField(
        _("minimum amount"), null=True, blank=True, help_text="minor units"
    )
    trigger_days = models.PositiveIntegerField(_("days after being added"), null=True, blank=True)
    reentry = models.CharField(
        _("who can enter"), max_length=10, choices=Reentry.choices, default=Reentry.ONCE
    )
    exit_tag = models.CharField(_("leave when tagged"), max_length=100, blank=True)
    exit_on_donation = models.BooleanField(_("leave when they donate"), default=False)
    # Timeline entries up to this id were written before activation: never a trigger.
    activity_floor = models.BigIntegerField(default=0)
    # Date triggers: people added up to (date_cursor - trigger_days) were already considered;
    # birthdays: the nation's calendar days up to date_cursor's were (it is reset at activation).
    date_cursor = models.DateTimeField(null=True, blank=True)
    problem = models.CharField(max_length=500, blank=True)  # a loop stopped, a broken step
    problem_at = models.DateTimeField(null=True, blank=True)
    created_by_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="automation_status")]

    def __str__(self) -> str:
        return self.name

    @property
    def trigger_text(self) -> str:
        from .selectors import trigger_summary

        return trigger_summary(self)


class Step(models.Model):
    class Kind(models.TextChoices):
        WAIT = "wait", _("Wait")
        EMAIL = "email", _("Send an email")
        SMS = "sms", _("Send a text message")
        TAG = "tag", _("Add a tag")
        UNTAG = "untag", _("Remove a tag")
        LIST = "list", _("Add to a list")
        NOTIFY = "notify", _("Notify a staff member")
        BRANCH = "branch", _("Branch on a condition")
        GOTO = "goto", _("Go to a step")
        END = "end", _("End")

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Per kind: wait {days, hours}; email {subject, body, broadcaster}; sms {body}; tag/untag
    # {tag}; list {list}; notify {user, message}; branch {test: opened|clicked|has_tag, step,
    # tag, no: step id | null (= end)}; goto {target: step id}. Step ids, not positions, so a
    # reorder never silently retargets a branch.
    config = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["automation", "position"],
                name="step_position_unique",
                deferrable=models.Deferrable.DEFERRED,  # a reorder swaps positions in one go
            )
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_kind_display()}"


class Enrolment(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("In progress")
        COMPLETED = "completed", _("Completed")
        EXITED = "exited", _("Left")
        STOPPED = "stopped", _("Stopped")

    id = models.BigAutoField(primary_key=True)
    automation = models.ForeignKey(
        Automation, on_delete=models.CASCADE, related_name="enrolments", db_index=False
    )
    # db_index=False: enrolment_person serves lookups by person (profile, merge).
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="enrolments", db_index=False
    )
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    next_run_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0)  # step executions so far (StepRun.seq)
    hops = models.PositiveSmallIntegerField(default=0)  # steps since the last wait (goto loops)
    # What enrolled them: the timeline entry (unique per automation: a re-read never enrols
    # twice) and its causal chain (automations whose steps led here), to stop loops.
    source_activity_id = models.BigIntegerField(null=True, blank=True)
    chain = models.JSONField(default=list, blank=True)
    # Birthday trigger: the year of the birthday that enrolled them; unique per automation and
    # person, so a repeated or crashed tick never enrols anyone twice in a year.
    occasion = models.PositiveSmallIntegerField(null=True, blank=True)
    message = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            # The engine's only read of this table per tick: due rows, oldest first.
            models.Index(
                fields=["next_run_at"],
                name="enrolment_due",
                condition=Q(state="active"),
            ),
            models.Index(fields=["automation", "state"], name="enrolment_automation_state"),
            models.Index(fields=["person", "-started_at"], name="enrolment_person"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["automation", "person"],
                condition=Q(state="active"),
                name="enrolment_one_active",
            ),
            models.UniqueConstraint(
                fields=["automation", "source_activity_id"],
                name="enrolment_source_unique",
            ),
            models.UniqueConstraint(
                fields=["automation", "person", "occasion"],
                condition=Q(occasion__isnull=False),
                name="enrolment_occasion_unique",
            ),
        ]


class StepRun(models.Model):
    """One execution of a step for one enrolment: its unique (enrolment, seq) is what makes a
    repeated or crashed tick harmless (the effect and this row commit together)."""

    id = models.BigAutoField(primary_key=True)
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="step_runs")
    seq = models.PositiveIntegerField()
    step = models.ForeignKey(Step, null=True, on_delete=models.SET_NULL, related_name="runs")
    kind = models.CharField(max_length=10)
    outcome = models.CharField(max_length=20, default="done")  # done, skipped, failed, yes, no
    detail = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)  # e.g. {"delivery": id}
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["seq"]
        constraints = [models.UniqueConstraint(fields=["enrolment", "seq"], name="steprun_unique")]
        indexes = [models.Index(fields=["step", "outcome"], name="steprun_step_outcome")]


class EngineState(models.Model):
    """One row per nation: where the engine is in the timeline."""

    activity_cursor = models.BigIntegerField(default=0)
    # [[iso time, cursor], ...]: the cursor as it was at recent ticks, so each tick re-reads
    # the last AUTOMATIONS_LOOKBACK seconds of entries (a long transaction may commit rows
    # with ids below the cursor; re-reading is harmless, enrolments are unique per entry).
    checkpoints = models.JSONField(default=list, blank=True)
    last_tick_at = models.DateTimeField(null=True, blank=True)
