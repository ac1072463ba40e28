"""What each kind of step does to one enrolment (the engine claims, this runs).

A step's effect goes through the owning app's actions (people.actions for tags and lists,
comms.actions for email and SMS), inside a savepoint together with its StepRun row: either both
are committed or neither, and the StepRun's unique (enrolment, seq) refuses a second run."""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from nations.people.actions import Actor
from nations.people.models import Consent, Person, PersonEmail

from .models import Automation, Enrolment, Step, StepRun

log = logging.getLogger(__name__)

MAX_HOPS = 50  # steps in a row without a wait: a "go to" loop, stopped

EFFECTS = {
    Step.Kind.EMAIL,
    Step.Kind.SMS,
    Step.Kind.TAG,
    Step.Kind.UNTAG,
    Step.Kind.LIST,
    Step.Kind.NOTIFY,
}


class StepFailed(Exception):
    """The step could not run for this person; recorded on the run, the person moves on."""


@dataclass
class Outcome:
    outcome: str = "done"
    detail: str = ""
    data: dict = field(default_factory=dict)
    next_step: int | None | bool = True  # True: the following step; None: the end
    delay: int = 0  # seconds before the next step
    exit: str = ""  # non-empty: the enrolment stops here, with this message


def wait_seconds(config: dict) -> int:
    try:
        days = int(config.get("days") or 0)
        hours = int(config.get("hours") or 0)
    except (TypeError, ValueError):
        return 0
    return max(0, days) * 86400 + max(0, hours) * 3600


class Runner:
    """Runs one batch of claimed enrolments at `now`; caches what does not change per tick
    (steps, rendered templates, the nation's URL)."""

    def __init__(self, automations: list[Automation], now: datetime) -> None:
        self.now = now
        self.automations = {a.pk: a for a in automations}
        self.steps: dict[int, Step] = {}
        self.following: dict[int, int | None] = {}
        ordered: dict[int, list[Step]] = {}
        for step in Step.objects.filter(automation_id__in=self.automations).order_by(
            "automation_id", "position", "id"
        ):
            self.steps[step.pk] = step
            ordered.setdefault(step.automation_id, []).append(step)
        for steps in ordered.values():
            for here, after in zip(steps, [*steps[1:], None], strict=True):
                self.following[here.pk] = after.pk if after else None
        self.templates: dict[int, object] = {}

    # -- the batch --
    def run(self, batch: list[Enrolment]) -> None:
        people = Person.objects.in_bulk([e.person_id for e in batch])
        runs: list[StepRun] = []
        for enrolment in batch:
            step = self.steps.get(enrolment.step_id) if enrolment.step_id else None
            person = people.get(enrolment.person_id)
            if step is None:
                self._finish(enrolment, Enrolment.State.COMPLETED, "")
                continue
            if person is None or person.is_erased:
                self._finish(enrolment, Enrolment.State.EXITED, _("Left: person erased."))
                continue
            seq = enrolment.runs + 1
            if step.kind in EFFECTS:
                outcome = self._effect(enrolment, step, person, seq)
                if outcome is None:  # this run was recorded before: never again
                    outcome = Outcome(detail="already done")
            else:
                outcome = self._control(enrolment, step, person)
                runs.append(self._steprun(enrolment, step, seq, outcome))
            self._move(enrolment, step, outcome)
        if runs:
            StepRun.objects.bulk_create(runs)
        _save_moves(batch)

    def run_waits(self, step: Step, enrolment_ids: list[int]) -> None:
        """A wait step for many enrolments (claimed, locked) in two statements: move them to
        the following step at now + the wait, and record each run. The common case by far (a
        path is mostly waiting), so it never builds Python objects per person."""
        seconds = wait_seconds(step.config or {})
        until = self.now + timedelta(seconds=seconds)
        following = self.following.get(step.pk)
        table, runs = Enrolment._meta.db_table, StepRun._meta.db_table
        if following is None:
            change = (
                "step_id = NULL, state = 'completed', next_run_at = NULL, finished_at = %(now)s"
            )
        else:
            change = "step_id = %(next)s, next_run_at = %(until)s, hops = 0"
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH moved AS (UPDATE {table} SET {change}, runs = runs + 1"
                " WHERE id = ANY(%(ids)s) RETURNING id, runs)"
                f" INSERT INTO {runs} (enrolment_id, seq, step_id, kind, outcome, detail, data, at)"
                " SELECT id, runs, %(step)s, 'wait', 'done', %(until_text)s,"
                " jsonb_build_object('until', %(until_text)s::text), %(now)s FROM moved",
                {
                    "ids": enrolment_ids,
                    "next": following,
                    "until": until,
                    "until_text": until.isoformat(),
                    "step": step.pk,
                    "now": self.now,
                },
            )

    def run_bulk(self, step: Step, enrolment_ids: list[int]) -> list[int]:
        """A tag, untag or list step for many enrolments (claimed, locked) with set-based
        writes: the runs are recorded first (ON CONFLICT: a run recorded before is never
        repeated), then one people_tag_bulk / people_list_bulk per causal chain (almost always
        one), then one UPDATE moves them on. Returns the enrolments left for the one-by-one
        path (erased people, a step that cannot run)."""
        from nations.people.actions import people_list_bulk, people_tag_bulk
        from nations.people.models import PeopleList

        config = step.config or {}
        people_list = None
        if step.kind == Step.Kind.LIST:
            people_list = PeopleList.objects.filter(pk=_int(config.get("list"))).first()
            if people_list is None:
                return enrolment_ids
        elif not config.get("tag"):
            return enrolment_ids
        detail = people_list.name if people_list else config["tag"]
        table, runs = Enrolment._meta.db_table, StepRun._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT e.id, e.person_id, e.chain, p.is_erased FROM {table} e"
                f" LEFT JOIN {Person._meta.db_table} p ON p.id = e.person_id"
                " WHERE e.id = ANY(%s)",
                [enrolment_ids],
            )
            rows = cursor.fetchall()
            live = [r for r in rows if r[3] is False]
            left = [r[0] for r in rows if r[3] is not False]
            if not live:
                return left
            cursor.execute(
                f"INSERT INTO {runs} (enrolment_id, seq, step_id, kind, outcome, detail, data, at)"
                f" SELECT e.id, e.runs + 1, %(step)s, %(kind)s, 'done', %(detail)s, '{{}}',"
                f" %(now)s FROM {table} e WHERE e.id = ANY(%(ids)s)"
                " ON CONFLICT (enrolment_id, seq) DO NOTHING RETURNING enrolment_id",
                {
                    "step": step.pk,
                    "kind": step.kind,
                    "detail": detail[:300],
                    "now": self.now,
                    "ids": [r[0] for r in live],
                },
            )
            recorded = {r[0] for r in cursor.fetchall()}
        chains: dict[str, list[int]] = {}
        for enrolment_id, person_id, chain, _erased in live:
            if enrolment_id in recorded:
                chain = json.loads(chain) if isinstance(chain, str) else (chain or [])
                chains.setdefault(json.dumps(chain), []).append(person_id)
        actor = Actor(
            name=_("Automation “%(name)s”") % {"name": self.automations[step.automation_id].name}
        )
        for chain_json, person_ids in chains.items():
            data = {
                "automation": step.automation_id,
                "chain": [*json.loads(chain_json), step.automation_id],
            }
            people = Person.objects.filter(pk__in=person_ids)
            if people_list is not None:
                people_list_bulk(people=people, people_list=people_list, actor=actor, data=data)
            else:
                people_tag_bulk(
                    people=people, tag_name=config["tag"], actor=actor, data=data,
                    remove=step.kind == Step.Kind.UNTAG,
                )  # fmt: skip
        following = self.following.get(step.pk)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET runs = runs + 1, hops = hops + 1,"
                " step_id = CASE WHEN hops + 1 > %(max)s THEN step_id ELSE %(next)s::bigint END,"
                " state = CASE WHEN hops + 1 > %(max)s THEN 'stopped'"
                " WHEN %(next)s::bigint IS NULL THEN 'completed' ELSE 'active' END,"
                " next_run_at = CASE WHEN hops + 1 > %(max)s OR %(next)s::bigint IS NULL"
                " THEN NULL ELSE %(now)s END,"
                " finished_at = CASE WHEN hops + 1 > %(max)s OR %(next)s::bigint IS NULL"
                " THEN %(now)s END,"
                " message = CASE WHEN hops + 1 > %(max)s THEN %(stopped)s ELSE message END"
                " WHERE id = ANY(%(ids)s)",
                {
                    "max": MAX_HOPS,
                    "next": following,
                    "now": self.now,
                    "ids": [r[0] for r in live],
                    "stopped": (
                        _("Stopped: the steps loop without a wait (%(n)s steps in a row).")
                        % {"n": MAX_HOPS}
                    )[:300],
                },
            )
        return left

    def _steprun(self, enrolment: Enrolment, step: Step, seq: int, outcome: Outcome) -> StepRun:
        return StepRun(
            enrolment=enrolment,
            seq=seq,
            step=step,
            kind=step.kind,
            outcome=outcome.outcome,
            detail=outcome.detail[:300],
            data=outcome.data,
            at=self.now,
        )

    def _effect(self, enrolment: Enrolment, step: Step, person: Person, seq: int):
        try:
            with transaction.atomic():
                run = self._steprun(enrolment, step, seq, Outcome())
                run.save(force_insert=True)
                try:
                    with transaction.atomic():
                        outcome = getattr(self, f"do_{step.kind}")(enrolment, step, person)
                except StepFailed as error:
                    outcome = Outcome(outcome="failed", detail=str(error))
                StepRun.objects.filter(pk=run.pk).update(
                    outcome=outcome.outcome, detail=outcome.detail[:300], data=outcome.data
                )
                return outcome
        except IntegrityError:
            return None

    def _move(self, enrolment: Enrolment, step: Step, outcome: Outcome) -> None:
        enrolment.runs += 1
        if outcome.exit:
            self._finish(enrolment, Enrolment.State.STOPPED, outcome.exit)
            return
        target = self.following.get(step.pk) if outcome.next_step is True else outcome.next_step
        if target is not None and target not in self.steps:
            target = None  # a branch to a step that was removed: the end
        if target is None:
            self._finish(enrolment, Enrolment.State.COMPLETED, "")
            enrolment.step_id = None
            return
        enrolment.step_id = target
        enrolment.hops = 0 if outcome.delay else enrolment.hops + 1
        if enrolment.hops > MAX_HOPS:
            self._finish(
                enrolment,
                Enrolment.State.STOPPED,
                _("Stopped: the steps loop without a wait (%(n)s steps in a row).")
                % {"n": MAX_HOPS},
            )
            return
        enrolment.next_run_at = self.now + timedelta(seconds=outcome.delay)

    def _finish(self, enrolment: Enrolment, state: str, message: str) -> None:
        enrolment.state = state
        enrolment.next_run_at = None
        enrolment.finished_at = self.now
        enrolment.message = message[:300]

    def cause(self, enrolment: Enrolment) -> dict:
        """What an entry written by this step carries: which automation caused it."""
        return {
            "automation": enrolment.automation_id,
            "enrolment": enrolment.pk,
            "chain": [*(enrolment.chain or []), enrolment.automation_id],
        }

    def actor(self, enrolment: Enrolment) -> Actor:
        automation = self.automations[enrolment.automation_id]
        return Actor(name=_("Automation “%(name)s”") % {"name": automation.name})

    # -- control steps (no effect outside this app) --
    def _control(self, enrolment: Enrolment, step: Step, person: Person) -> Outcome:
        config = step.config or {}
        if step.kind == Step.Kind.WAIT:
            seconds = wait_seconds(config)
            until = self.now + timedelta(seconds=seconds)
            return Outcome(
                delay=seconds, detail=until.isoformat(), data={"until": until.isoformat()}
            )
        if step.kind == Step.Kind.GOTO:
            return Outcome(next_step=_int(config.get("target")))
        if step.kind == Step.Kind.END:
            return Outcome(next_step=None)
        if step.kind == Step.Kind.BRANCH:
            yes = self.condition(enrolment, config, person)
            if yes:
                return Outcome(outcome="yes")
            return Outcome(outcome="no", next_step=_int(config.get("no")))
        return Outcome(outcome="skipped", detail=f"unknown step {step.kind}")

    def condition(self, enrolment: Enrolment, config: dict, person: Person) -> bool:
        test = config.get("test")
        if test == "has_tag":
            from nations.people.models import Tagging

            return Tagging.objects.filter(person=person, tag__name=config.get("tag", "")).exists()
        if test in ("opened", "clicked"):
            from nations.comms.models import Delivery

            run = (
                StepRun.objects.filter(enrolment=enrolment, step_id=_int(config.get("step")))
                .order_by("-seq")
                .values_list("data", flat=True)
                .first()
            )
            delivery_id = (run or {}).get("delivery")
            if not delivery_id:
                return False
            column = "opened_at" if test == "opened" else "clicked_at"
            return Delivery.objects.filter(pk=delivery_id, **{f"{column}__isnull": False}).exists()
        return False

    # -- effects --
    def do_tag(self, enrolment, step, person) -> Outcome:
        from nations.people.actions import person_tag

        name = (step.config or {}).get("tag", "")
        if not name:
            raise StepFailed(_("No tag chosen."))
        added = person_tag(
            person=person, names=[name], actor=self.actor(enrolment), data=self.cause(enrolment)
        )
        return Outcome(detail=name, outcome="done" if added else "skipped")

    def do_untag(self, enrolment, step, person) -> Outcome:
        from nations.people.actions import person_untag

        name = (step.config or {}).get("tag", "")
        removed = person_untag(
            person=person, names=[name], actor=self.actor(enrolment), data=self.cause(enrolment)
        )
        return Outcome(detail=name, outcome="done" if removed else "skipped")

    def do_list(self, enrolment, step, person) -> Outcome:
        from nations.people.actions import list_add
        from nations.people.models import PeopleList

        people_list = PeopleList.objects.filter(pk=_int((step.config or {}).get("list"))).first()
        if people_list is None:
            raise StepFailed(_("The list no longer exists."))
        added = list_add(
            people_list=people_list,
            person=person,
            actor=self.actor(enrolment),
            data=self.cause(enrolment),
        )
        return Outcome(detail=people_list.name, outcome="done" if added else "skipped")

    def _template(self, step: Step):
        from nations.comms.models import Blast, Broadcaster
        from nations.comms.render import BlastTemplate, MergeError
        from tenants.hosts import nation_url

        if step.pk not in self.templates:
            config = step.config or {}
            broadcaster = (
                Broadcaster.objects.filter(pk=_int(config.get("broadcaster"))).first()
                or Broadcaster.objects.order_by("pk").first()
            )
            try:
                if broadcaster is None:
                    raise MergeError(_("No sender: add one under Communication → Senders."))
                blast = Blast(
                    broadcaster=broadcaster,
                    subject=config.get("subject", ""),
                    body_html=config.get("body", ""),
                )
                self.templates[step.pk] = BlastTemplate(
                    blast, connection.tenant, base_url=nation_url(connection.tenant)
                )
            except MergeError as error:
                self.templates[step.pk] = error
        return self.templates[step.pk]

    def do_email(self, enrolment, step, person) -> Outcome:
        """Rendered like a blast (layout, merge fields, open pixel, unsubscribe link) and queued
        as a transactional delivery. Links go straight to their target: the click redirect only
        serves a blast's own links."""
        from nations.comms.actions import transactional_send
        from nations.comms.models import Delivery
        from nations.comms.render import MergeError
        from nations.comms.tokens import make_token

        if person.email_consent != Consent.GRANTED or not person.email:
            return Outcome(outcome="skipped", detail=_("No email consent."))
        if PersonEmail.objects.filter(
            address=person.email,
            status__in=(PersonEmail.Status.BOUNCED, PersonEmail.Status.COMPLAINED),
        ).exists():
            return Outcome(outcome="skipped", detail=_("The address bounced or complained."))
        template = self._template(step)
        if isinstance(template, MergeError):
            raise StepFailed(str(template))
        delivery = transactional_send(
            to=person.email,
            subject="-",
            text="",
            from_email=template.from_header,
            reply_to=template.reply_to,
            person=person,
            kind="automation",
        )
        try:
            rendered = template.render(person, delivery_id=delivery.pk)
        except MergeError as error:
            raise StepFailed(str(error)) from error
        body, text = rendered.html, rendered.text
        token = make_token(connection.schema_name, delivery.pk)
        for index, url in enumerate(template.links):
            tracked = f"{template.base_url}/e/c/{token}/{index}/"
            body = body.replace(tracked, html.escape(url))
            text = text.replace(tracked, url)
        payload = dict(delivery.payload)
        payload.update(subject=rendered.subject, html=body, text=text)
        Delivery.objects.filter(pk=delivery.pk).update(payload=payload)
        return Outcome(detail=rendered.subject, data={"delivery": delivery.pk})

    def do_sms(self, enrolment, step, person) -> Outcome:
        try:
            from nations.comms.actions import transactional_sms  # added by the SMS work
        except ImportError as error:
            raise StepFailed(_("Text messages are not available on this installation.")) from error
        from nations.comms.render import MergeError, _parse, _render, _text_env, person_context

        if person.sms_consent != Consent.GRANTED or not person.phone:
            return Outcome(outcome="skipped", detail=_("No SMS consent."))
        try:
            body = _render(
                _parse(_text_env, (step.config or {}).get("body", ""), "Message"),
                "Message",
                person_context(person),
            )
        except MergeError as error:
            raise StepFailed(str(error)) from error
        delivery = transactional_sms(
            to=person.phone, body=body, person_id=person.pk, kind="automation"
        )
        if delivery is None:
            return Outcome(outcome="skipped", detail=_("Not sent (number or consent)."))
        return Outcome(detail=body[:100], data={"delivery": delivery.pk})

    def do_notify(self, enrolment, step, person) -> Outcome:
        from django.conf import settings
        from django.urls import reverse

        from nations.comms.actions import transactional_send
        from tenants.hosts import nation_url
        from tenants.models import Membership

        config = step.config or {}
        member = (
            Membership.objects.filter(nation=connection.tenant, user_id=_int(config.get("user")))
            .select_related("user")
            .first()
        )
        if member is None:
            raise StepFailed(_("The staff member to notify is no longer in this nation."))
        automation = self.automations[enrolment.automation_id]
        link = nation_url(connection.tenant, reverse("panel:people:detail", args=[person.pk]))
        text = "\n\n".join(
            p
            for p in (
                _("%(person)s reached a step of the automation “%(name)s”.")
                % {"person": person, "name": automation.name},
                config.get("message", ""),
                link,
            )
            if p
        )
        delivery = transactional_send(
            to=member.user.email,
            subject=_("Automation “%(name)s”: %(person)s")
            % {"name": automation.name, "person": person},
            text=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            kind="automation_notify",
        )
        return Outcome(detail=member.user.email, data={"delivery": delivery.pk})


def _save_moves(batch: list[Enrolment]) -> None:
    """Where each enrolment of the batch is now: one UPDATE … FROM unnest(arrays). (Django's
    bulk_update builds a CASE per row and field: seconds of Python for a batch of 500.)"""
    columns = {
        "step_id": ("bigint", [e.step_id for e in batch]),
        "state": ("text", [e.state for e in batch]),
        "next_run_at": ("timestamptz", [e.next_run_at for e in batch]),
        "runs": ("integer", [e.runs for e in batch]),
        "hops": ("integer", [e.hops for e in batch]),
        "finished_at": ("timestamptz", [e.finished_at for e in batch]),
        "message": ("text", [e.message for e in batch]),
    }
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Enrolment._meta.db_table} e SET "
            + ", ".join(f"{name} = v.{name}" for name in columns)
            + " FROM unnest(%s::bigint[], "
            + ", ".join(f"%s::{kind}[]" for kind, _values in columns.values())
            + f") AS v(id, {names}) WHERE e.id = v.id",
            [[e.pk for e in batch], *(values for _kind, values in columns.values())],
        )


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
