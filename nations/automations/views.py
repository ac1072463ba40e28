"""Panel screens of the Automations area: /panel/automations/ (namespace panel:automations).
Thin: parse, fetch in the nation's schema, call an action, respond. Managing automations needs
`comms.send` (they send email) and the plan's `automations` feature; a profile's section only
needs `people.view`."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.limits import FeatureNotInPlan, require_feature
from nations.panel.access import can, staff_required
from nations.people.models import Person

from . import actions, selectors
from .forms import AutomationForm, StepForm
from .models import Automation, Step

PERMISSION = "comms.send"


def _ctx(**extra):
    return {"section": "automations", **extra}


def feature_required(view):
    """The plan must include automations: otherwise a page that says which plan does."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            require_feature(request.tenant, "automations")
        except FeatureNotInPlan as error:
            return render(
                request, "automations/upgrade.html", _ctx(message=error.message), status=402
            )
        return view(request, *args, **kwargs)

    return wrapper


def _automation(automation_id: int) -> Automation:
    return get_object_or_404(
        Automation.objects.select_related("trigger_list", "trigger_page"), pk=automation_id
    )


@staff_required(PERMISSION)
@feature_required
def automation_list(request):
    page = Paginator(
        Automation.objects.select_related("trigger_list", "trigger_page"), 50
    ).get_page(request.GET.get("page"))
    counts = selectors.state_counts([a.pk for a in page.object_list])
    rows = [(a, counts.get(a.pk, {"total": 0})) for a in page.object_list]
    return render(request, "automations/list.html", _ctx(page=page, rows=rows))


@staff_required(PERMISSION)
@feature_required
def automation_new(request):
    form = AutomationForm(request.POST or None, initial={"trigger": "tag", "reentry": "once"})
    if request.method == "POST" and form.is_valid():
        automation = actions.automation_save(
            **{k: v for k, v in form.cleaned_data.items() if k != "min_amount"},
            created_by_name=request.user.get_full_name() or request.user.email,
        )
        messages.success(request, _("Automation created. Now add its steps."))
        return redirect("panel:automations:detail", automation.pk)
    return render(request, "automations/edit.html", _ctx(form=form, automation=None))


@staff_required(PERMISSION)
@feature_required
def automation_edit(request, automation_id: int):
    automation = _automation(automation_id)
    form = AutomationForm(request.POST or None, instance=automation)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "min_amount"}
        try:
            actions.automation_save(automation=automation, **fields)
        except actions.AutomationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Automation saved."))
            return redirect("panel:automations:detail", automation.pk)
    return render(request, "automations/edit.html", _ctx(form=form, automation=automation))


@staff_required(PERMISSION)
@feature_required
def automation_detail(request, automation_id: int):
    automation = _automation(automation_id)
    return render(
        request,
        "automations/detail.html",
        _ctx(
            automation=automation,
            report=selectors.report(automation),
            step_form=StepForm(automation=automation, initial={"kind": "wait", "days": 1}),
            not_ready=_not_ready(automation),
        ),
    )


@require_POST
@staff_required(PERMISSION)
@feature_required
def automation_action(request, automation_id: int, action: str):
    automation = _automation(automation_id)
    try:
        if action == "activate":
            actions.automation_activate(automation=automation)
            messages.success(
                request,
                _("The automation is on: people who meet the trigger from now on enter it."),
            )
        elif action == "pause":
            actions.automation_pause(automation=automation)
            messages.success(
                request, _("Paused: nobody new enters and people wait where they are.")
            )
        elif action == "delete":
            actions.automation_delete(automation=automation)
            messages.success(request, _("Automation deleted."))
            return redirect("panel:automations:list")
        else:
            raise Http404
    except actions.AutomationError as error:
        messages.error(request, str(error))
    return redirect("panel:automations:detail", automation.pk)


def _not_ready(automation: Automation) -> str:
    """Why a draft or paused automation cannot be turned on yet ("" when it can)."""
    if automation.status == Automation.Status.ACTIVE:
        return ""
    try:
        actions.automation_check(automation)
    except actions.AutomationError as error:
        return str(error)
    return ""


def _steps_response(request, automation: Automation, form: StepForm | None = None, status=200):
    automation.refresh_from_db()
    context = _ctx(
        automation=automation,
        not_ready=_not_ready(automation),
        report=selectors.report(automation),
        step_form=form or StepForm(automation=automation, initial={"kind": "wait", "days": 1}),
    )
    if request.htmx:  # staff usually add several steps in a row: the form stays open
        context["adding"] = True
        return render(request, "automations/_steps.html", context, status=status)
    if status != 200:
        return render(request, "automations/detail.html", context, status=status)
    return redirect("panel:automations:detail", automation.pk)


@require_POST
@staff_required(PERMISSION)
@feature_required
def step_add(request, automation_id: int):
    automation = _automation(automation_id)
    form = StepForm(request.POST, automation=automation)
    if not form.is_valid():
        return _steps_response(request, automation, form, status=422)
    try:
        actions.step_add(
            automation=automation, kind=form.cleaned_data["kind"], config=form.config()
        )
    except actions.AutomationError as error:
        form.add_error(None, str(error))
        return _steps_response(request, automation, form, status=422)
    return _steps_response(request, automation)


@staff_required(PERMISSION)
@feature_required
def step_edit(request, automation_id: int, step_id: int):
    automation = _automation(automation_id)
    step = get_object_or_404(Step, pk=step_id, automation=automation)
    form = StepForm(request.POST or None, automation=automation, step=step)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["kind"] != step.kind:
            form.add_error("kind", _("A step keeps its kind: remove it and add another."))
        else:
            try:
                actions.step_save(step=step, config=form.config())
            except actions.AutomationError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Step saved."))
                return redirect("panel:automations:detail", automation.pk)
    return render(
        request, "automations/step_edit.html", _ctx(automation=automation, step=step, form=form)
    )


@require_POST
@staff_required(PERMISSION)
@feature_required
def step_action(request, automation_id: int, step_id: int, action: str):
    automation = _automation(automation_id)
    step = get_object_or_404(Step, pk=step_id, automation=automation)
    try:
        if action == "up":
            actions.step_move(step=step, offset=-1)
        elif action == "down":
            actions.step_move(step=step, offset=1)
        elif action == "remove":
            actions.step_remove(step=step)
        else:
            raise Http404
    except actions.AutomationError as error:
        messages.error(request, str(error))
        if request.htmx:
            context = _ctx(
                automation=automation,
                report=selectors.report(automation),
                step_form=StepForm(automation=automation, initial={"kind": "wait", "days": 1}),
                step_error=str(error),
            )
            return render(request, "automations/_steps.html", context, status=422)
    return _steps_response(request, automation)


@staff_required("people.view")
def person_automations(request, person_id: int):
    person = get_object_or_404(Person, pk=person_id)
    return render(
        request,
        "automations/_person.html",
        {
            "person": person,
            "items": selectors.person_enrolments(person.pk),
            "can_manage": can(request, PERMISSION),
        },
    )
