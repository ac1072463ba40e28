"""Reads of the Automations area: counts for the list, the report of one automation, and a
person's automations for their profile. Each is a grouped query over an indexed column."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count
from django.utils.translation import gettext as _

from .models import Automation, Enrolment, Step, StepRun


def state_counts(automation_ids) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    rows = (
        Enrolment.objects.filter(automation_id__in=list(automation_ids))
        .values_list("automation_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for automation_id, state, n in rows:
        bucket = counts.setdefault(automation_id, {"total": 0})
        bucket[state] = n
        bucket["total"] += n
    return counts


def report(automation: Automation) -> dict:
    steps = list(Step.objects.filter(automation=automation).order_by("position"))
    ids = [s.pk for s in steps]
    at_step = dict(
        Enrolment.objects.filter(automation=automation, state=Enrolment.State.ACTIVE)
        .values_list("step_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    runs: dict[int, dict[str, int]] = {}
    for step_id, outcome, n in (
        StepRun.objects.filter(step_id__in=ids)
        .values_list("step_id", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    ):
        runs.setdefault(step_id, {})[outcome] = n
    opens: dict[int, tuple[int, int]] = {}
    email_ids = [s.pk for s in steps if s.kind == Step.Kind.EMAIL]
    if email_ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT r.step_id, count(d.opened_at), count(d.clicked_at)"
                f" FROM {StepRun._meta.db_table} r JOIN comms_delivery d"
                " ON d.id = (r.data->>'delivery')::bigint"
                " WHERE r.step_id = ANY(%s) GROUP BY r.step_id",
                [email_ids],
            )
            opens = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    rows = []
    by_id = {s.pk: s for s in steps}
    for step in steps:
        done = runs.get(step.pk, {})
        rows.append(
            {
                "step": step,
                "summary": step_summary(step, by_id),
                "waiting": at_step.get(step.pk, 0),
                "done": sum(done.values()),
                "outcomes": done,
                "opened": opens.get(step.pk, (0, 0))[0],
                "clicked": opens.get(step.pk, (0, 0))[1],
            }
        )
    return {
        "steps": rows,
        "counts": state_counts([automation.pk]).get(automation.pk, {"total": 0}),
        "recent": Enrolment.objects.filter(automation=automation)
        .select_related("person", "step")
        .order_by("-started_at", "-id")[:25],
    }


def person_enrolments(person_id: int) -> list[dict]:
    enrolments = list(
        Enrolment.objects.filter(person_id=person_id)
        .select_related("automation", "step")
        .order_by("-started_at", "-id")[:20]
    )
    totals = dict(
        Step.objects.filter(automation_id__in={e.automation_id for e in enrolments})
        .values_list("automation_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    history: dict[int, list[StepRun]] = {}
    for run in StepRun.objects.filter(enrolment__in=enrolments).select_related("step"):
        history.setdefault(run.enrolment_id, []).append(run)
    out = []
    for e in enrolments:
        total = totals.get(e.automation_id, 0)
        position = e.step.position if e.step else total
        done = total if e.state == Enrolment.State.COMPLETED else max(0, position - 1)
        out.append(
            {
                "enrolment": e,
                "total": total,
                "done": done,
                "percent": round(done * 100 / total) if total else 100,
                "runs": history.get(e.pk, []),
            }
        )
    return out


def step_summary(step: Step, by_id: dict[int, Step]) -> str:
    """One line saying what a step does, for the step list."""
    from .steps import wait_seconds

    config = step.config or {}

    def where(step_id) -> str:
        target = by_id.get(step_id) if step_id else None
        return _("step %(n)s") % {"n": target.position} if target else _("the end")

    if step.kind == Step.Kind.WAIT:
        from .engine import describe_wait

        return _("Wait %(time)s") % {"time": describe_wait(wait_seconds(config))}
    if step.kind == Step.Kind.EMAIL:
        return _("Email “%(subject)s”") % {"subject": config.get("subject", "")}
    if step.kind == Step.Kind.SMS:
        return _("Text: “%(body)s”") % {"body": (config.get("body") or "")[:60]}
    if step.kind == Step.Kind.TAG:
        return _("Add the tag “%(tag)s”") % {"tag": config.get("tag", "")}
    if step.kind == Step.Kind.UNTAG:
        return _("Remove the tag “%(tag)s”") % {"tag": config.get("tag", "")}
    if step.kind == Step.Kind.LIST:
        from nations.people.models import PeopleList

        name = (
            PeopleList.objects.filter(pk=config.get("list")).values_list("name", flat=True).first()
        )
        return _("Add to the list “%(name)s”") % {"name": name or "?"}
    if step.kind == Step.Kind.NOTIFY:
        from tenants.models import User

        user = User.objects.filter(pk=config.get("user")).first()
        return _("Notify %(who)s") % {"who": (user.get_full_name() or user.email) if user else "?"}
    if step.kind == Step.Kind.BRANCH:
        test = config.get("test")
        if test == "has_tag":
            condition = _("has the tag “%(tag)s”") % {"tag": config.get("tag", "")}
        else:
            email = by_id.get(config.get("step"))
            label = _("opened") if test == "opened" else _("clicked in")
            condition = _("%(label)s the email of step %(n)s") % {
                "label": label,
                "n": email.position if email else "?",
            }
        return _("If %(condition)s, go on; otherwise go to %(where)s") % {
            "condition": condition,
            "where": where(config.get("no")),
        }
    if step.kind == Step.Kind.GOTO:
        return _("Go to %(where)s") % {"where": where(config.get("target"))}
    return _("End")


def trigger_summary(automation: Automation) -> str:
    t = automation.trigger
    if t == Automation.Trigger.TAG:
        return _("Gets the tag “%(tag)s”") % {"tag": automation.trigger_tag}
    if t == Automation.Trigger.LIST:
        name = automation.trigger_list.name if automation.trigger_list else "?"
        return _("Joins the list “%(name)s”") % {"name": name}
    if t == Automation.Trigger.PAGE:
        title = automation.trigger_page.title if automation.trigger_page else "?"
        return _("Signs or answers “%(title)s”") % {"title": title}
    if t == Automation.Trigger.DONATION:
        if automation.trigger_min_amount:
            return _("Gives at least %(amount)s") % {
                "amount": f"{automation.trigger_min_amount / 100:.2f}"
            }
        return _("Gives")
    if t == Automation.Trigger.BIRTHDAY:
        return _("On their birthday")
    return _("%(n)s days after being added") % {"n": automation.trigger_days}
