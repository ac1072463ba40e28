"""Every write of the Automations area: automations, their steps, activation and pausing.

The engine (engine.py) owns enrolments and step runs; staff never write those directly."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from nations.people.models import Activity

from .models import Automation, Step


class AutomationError(ValueError):
    """The automation cannot be saved or activated as it is; the message says why, for staff."""


def automation_save(*, automation: Automation | None = None, **fields) -> Automation:
    automation = automation or Automation()
    for name, value in fields.items():
        setattr(automation, name, value)
    automation.name = " ".join(automation.name.split())[:150]
    automation.trigger_tag = " ".join((automation.trigger_tag or "").split())[:100]
    automation.exit_tag = " ".join((automation.exit_tag or "").split())[:100]
    automation.updated_at = timezone.now()
    if automation.status == Automation.Status.ACTIVE:
        automation_check(automation)
    automation.save()
    return automation


# --- steps -----------------------------------------------------------------------------------
def step_add(*, automation: Automation, kind: str, config: dict) -> Step:
    with transaction.atomic():
        last = Step.objects.filter(automation=automation).aggregate(m=Max("position"))["m"] or 0
        step = Step.objects.create(
            automation=automation, position=last + 1, kind=kind, config=config
        )
        _recheck(automation)
    return step


def step_save(*, step: Step, config: dict) -> Step:
    with transaction.atomic():
        step.config = config
        step.save(update_fields=["config"])
        _recheck(step.automation)
    return step


def step_remove(*, step: Step) -> None:
    """People at this step move on to the following one (or finish)."""
    from .models import Enrolment

    with transaction.atomic():
        automation = step.automation
        following = (
            Step.objects.filter(automation=automation, position__gt=step.position)
            .order_by("position")
            .first()
        )
        at_step = Enrolment.objects.filter(step=step, state=Enrolment.State.ACTIVE)
        if following is not None:
            at_step.update(step=following)
        else:
            at_step.update(
                step=None, state=Enrolment.State.COMPLETED, next_run_at=None,
                finished_at=timezone.now(),
            )  # fmt: skip
        position = step.position
        step.delete()
        Step.objects.filter(automation=automation, position__gt=position).update(
            position=F("position") - 1
        )
        _recheck(automation)


def step_move(*, step: Step, offset: int) -> None:
    """Swap with the step above (-1) or below (+1); positions are a deferred unique pair."""
    with transaction.atomic():
        other = Step.objects.filter(
            automation_id=step.automation_id, position=step.position + offset
        ).first()
        if other is None:
            return
        Step.objects.filter(pk=step.pk).update(position=other.position)
        Step.objects.filter(pk=other.pk).update(position=step.position)
        _recheck(step.automation)


def _recheck(automation: Automation) -> None:
    """An active automation stays valid: a change that breaks it is refused (and rolled back)."""
    if automation.status == Automation.Status.ACTIVE:
        automation_check(automation)


# --- checks ----------------------------------------------------------------------------------
def automation_check(automation: Automation) -> None:
    """Raise AutomationError unless the automation can run: a complete trigger, steps that are
    filled in, no "go to" loop without a wait, and no loop with other active automations."""
    from .steps import wait_seconds

    trigger = automation.trigger
    if trigger == Automation.Trigger.TAG and not automation.trigger_tag:
        raise AutomationError(_("Choose the tag that starts this automation."))
    if trigger == Automation.Trigger.LIST and automation.trigger_list_id is None:
        raise AutomationError(_("Choose the list that starts this automation."))
    if trigger == Automation.Trigger.PAGE and automation.trigger_page_id is None:
        raise AutomationError(_("Choose the page that starts this automation."))
    if trigger == Automation.Trigger.CREATED and automation.trigger_days is None:
        raise AutomationError(_("Say how many days after being added people start."))
    steps = list(Step.objects.filter(automation=automation).order_by("position"))
    if not steps:
        raise AutomationError(_("Add at least one step."))
    positions = {s.pk: s.position for s in steps}
    for step in steps:
        config = step.config or {}
        if step.kind == Step.Kind.EMAIL:
            _email_check(step)
        elif step.kind in (Step.Kind.TAG, Step.Kind.UNTAG) and not config.get("tag"):
            raise AutomationError(_("Step %(n)s: choose a tag.") % {"n": step.position})
        elif step.kind == Step.Kind.SMS and not (config.get("body") or "").strip():
            raise AutomationError(
                _("Step %(n)s: the text message is empty.") % {"n": step.position}
            )
        elif step.kind == Step.Kind.WAIT and wait_seconds(config) <= 0:
            raise AutomationError(_("Step %(n)s: wait at least one hour.") % {"n": step.position})
        targets = []
        if step.kind == Step.Kind.GOTO:
            targets.append(config.get("target"))
            if _as_int(config.get("target")) not in positions:
                raise AutomationError(
                    _("Step %(n)s: choose the step to go to.") % {"n": step.position}
                )
        if step.kind == Step.Kind.BRANCH:
            if config.get("test") == "has_tag" and not config.get("tag"):
                raise AutomationError(_("Step %(n)s: choose a tag.") % {"n": step.position})
            if config.get("test") in ("opened", "clicked"):
                email = next((s for s in steps if s.pk == _as_int(config.get("step"))), None)
                if email is None or email.kind != Step.Kind.EMAIL or email.position > step.position:
                    raise AutomationError(
                        _("Step %(n)s: choose an email sent by an earlier step.")
                        % {"n": step.position}
                    )
            targets.append(config.get("no"))
        for target in targets:
            back = positions.get(_as_int(target))
            if back is not None and back <= step.position:
                between = [s for s in steps if back <= s.position <= step.position]
                if not any(s.kind == Step.Kind.WAIT for s in between):
                    raise AutomationError(
                        _(
                            "Step %(n)s goes back to step %(m)s with no wait in between: people"
                            " would loop forever. Add a wait step."
                        )
                        % {"n": step.position, "m": back}
                    )
    _loop_check(automation, steps)


def _email_check(step: Step) -> None:
    from nations.comms.models import Blast, Broadcaster
    from nations.comms.render import BlastTemplate, MergeError
    from nations.people.models import Person

    config = step.config or {}
    if not (config.get("subject") or "").strip() or not (config.get("body") or "").strip():
        raise AutomationError(
            _("Step %(n)s: the email needs a subject and a message.") % {"n": step.position}
        )
    broadcaster = (
        Broadcaster.objects.filter(pk=_as_int(config.get("broadcaster"))).first()
        or Broadcaster.objects.order_by("pk").first()
    )
    if broadcaster is None:
        raise AutomationError(_("Add a sender first (Communication → Senders)."))
    try:
        template = BlastTemplate(
            Blast(broadcaster=broadcaster, subject=config["subject"], body_html=config["body"]),
            connection.tenant,
            base_url="",
        )
        template.render(Person(first_name="Ada", email="ada@example.org"), delivery_id=None)
    except MergeError as error:
        raise AutomationError(
            _("Step %(n)s: %(error)s") % {"n": step.position, "error": error}
        ) from error


def _outputs(steps) -> set[tuple[str, str]]:
    """What an automation's steps write that could start another one: (kind, value)."""
    from nations.people.models import PeopleList

    out = set()
    list_ids = []
    for step in steps:
        config = step.config or {}
        if step.kind == Step.Kind.TAG and config.get("tag"):
            out.add((Activity.Kind.TAGGED.value, config["tag"]))
        if step.kind == Step.Kind.LIST and config.get("list"):
            list_ids.append(_as_int(config["list"]))
    for name in PeopleList.objects.filter(pk__in=list_ids).values_list("name", flat=True):
        out.add((Activity.Kind.LISTED.value, name))
    return out


def _input(automation: Automation) -> tuple[str, str] | None:
    if automation.trigger == Automation.Trigger.TAG and automation.trigger_tag:
        return (Activity.Kind.TAGGED.value, automation.trigger_tag)
    if automation.trigger == Automation.Trigger.LIST and automation.trigger_list is not None:
        return (Activity.Kind.LISTED.value, automation.trigger_list.name)
    return None


def _loop_check(automation: Automation, steps) -> None:
    """A cycle in "automation X's steps start automation Y", through this one, among the active
    automations: refused before anyone is enrolled (the engine also stops loops at run time)."""
    others = list(
        Automation.objects.filter(status=Automation.Status.ACTIVE)
        .exclude(pk=automation.pk)
        .select_related("trigger_list")
    )
    nodes = [automation, *others]
    by_id = {a.pk: a for a in nodes}
    all_steps: dict[int, list[Step]] = {automation.pk: steps}
    for step in Step.objects.filter(automation__in=others):
        all_steps.setdefault(step.automation_id, []).append(step)
    outputs = {a.pk: _outputs(all_steps.get(a.pk, [])) for a in nodes}
    inputs = {a.pk: _input(a) for a in nodes}

    def feeds(a: int) -> list[int]:
        return [b for b in by_id if inputs[b] is not None and inputs[b] in outputs[a]]

    path = [automation.pk]

    def walk(node: int, seen: set[int]) -> list[int] | None:
        for nxt in feeds(node):
            if nxt == automation.pk:
                return [*path, nxt]
            if nxt not in seen:
                seen.add(nxt)
                path.append(nxt)
                found = walk(nxt, seen)
                if found:
                    return found
                path.pop()
        return None

    cycle = walk(automation.pk, {automation.pk})
    if cycle:
        names = " → ".join(by_id[i].name for i in cycle)
        raise AutomationError(
            _(
                "These automations would trigger each other forever: %(chain)s. Change a"
                " trigger or a step so the chain ends."
            )
            % {"chain": names}
        )


# --- status ----------------------------------------------------------------------------------
def automation_activate(*, automation: Automation, now=None) -> Automation:
    """Check, then start: only what happens from now on triggers it (earlier tags, signatures
    and gifts never do; birthdays from today on). Raises AutomationError."""
    now = now or timezone.now()
    with transaction.atomic():
        automation = Automation.objects.select_for_update().get(pk=automation.pk)
        automation_check(automation)
        if automation.status == Automation.Status.ACTIVE:
            return automation
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Activity._meta.db_table}")
            floor = cursor.fetchone()[0]
        first_time = automation.activated_at is None
        is_birthday = automation.trigger == Automation.Trigger.BIRTHDAY
        automation.status = Automation.Status.ACTIVE
        automation.activity_floor = floor
        automation.activated_at = automation.activated_at or now
        # Birthdays missed while paused are not caught up on resume: a late "happy birthday"
        # after a pause reads as a mistake (people added meanwhile still get "N days after").
        if first_time or automation.date_cursor is None or is_birthday:
            automation.date_cursor = now
        automation.problem = ""
        automation.updated_at = now
        automation.save()
    return automation


def automation_pause(*, automation: Automation) -> Automation:
    """People stay where they are; nobody new enters and no step runs until it is resumed."""
    Automation.objects.filter(pk=automation.pk, status=Automation.Status.ACTIVE).update(
        status=Automation.Status.PAUSED, updated_at=timezone.now()
    )
    automation.refresh_from_db()
    return automation


def automation_delete(*, automation: Automation) -> None:
    automation.delete()


def _as_int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
