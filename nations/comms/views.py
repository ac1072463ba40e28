"""Panel screens of the Communication area. Thin: parse, fetch in the nation's schema, call an
action, respond. Everything needs `comms.send`."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from nations.panel.access import staff_required
from nations.people.actions import Actor
from nations.people.filters import FilterError
from nations.people.models import Person

from . import actions
from .audience import audience_summary
from .dkim import dns_records
from .forms import BlastForm, BroadcasterForm, ScheduleForm, SendingBackendForm, TestSendForm
from .models import Blast, Broadcaster, SendingBackend
from .render import BlastTemplate, MergeError
from .report import blast_report

PERMISSION = "comms.send"


def _actor(request) -> Actor:
    return Actor(user_id=request.user.pk, name=request.user.get_full_name() or request.user.email)


def _ctx(**extra):
    return {"section": "communication", **extra}


@staff_required(PERMISSION)
def blasts(request):
    page = Paginator(
        Blast.objects.filter(channel="email").select_related("broadcaster"), 25
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "comms/blast_list.html",
        _ctx(page=page, tab="blasts", has_senders=Broadcaster.objects.exists()),
    )


@staff_required(PERMISSION)
def blast_new(request):
    if not Broadcaster.objects.exists():
        messages.info(request, _("First add a sender: who your emails come from."))
        return redirect("panel:comms:broadcasters")
    form = BlastForm(request.POST or None, initial={"broadcaster": Broadcaster.objects.first()})
    if request.method == "POST" and form.is_valid():
        blast = actions.blast_save(actor=_actor(request), **form.cleaned_data)
        messages.success(request, _("Draft saved."))
        return redirect("panel:comms:edit", blast.pk)
    return render(request, "comms/blast_edit.html", _ctx(form=form, blast=None))


@staff_required(PERMISSION)
def blast_edit(request, blast_id: int):
    blast = get_object_or_404(Blast, pk=blast_id)
    if blast.channel != "email":
        return redirect("panel:comms:phone_edit", blast.pk)
    if not blast.is_editable:
        return redirect("panel:comms:detail", blast.pk)
    form = BlastForm(request.POST or None, instance=blast)
    if request.method == "POST" and form.is_valid():
        actions.blast_save(blast=blast, **form.cleaned_data)
        messages.success(request, _("Draft saved."))
        return redirect("panel:comms:edit", blast.pk)
    problem = ""
    try:
        actions.blast_check(blast, request.tenant)
    except actions.BlastError as error:
        problem = str(error)
    try:
        summary = audience_summary(blast)
    except FilterError as error:
        summary, problem = None, problem or str(error)
    return render(
        request,
        "comms/blast_edit.html",
        _ctx(
            form=form,
            blast=blast,
            summary=summary,
            problem=problem,
            test_form=TestSendForm(initial={"email": request.user.email}),
            schedule_form=ScheduleForm(nation=request.tenant),
        ),
    )


@staff_required(PERMISSION)
def audience_count(request):
    """The recipient count for the audience picked in the form (htmx, as it changes)."""
    blast = Blast(
        audience=request.GET.get("audience", Blast.Audience.SEGMENT),
        segment_id=_int(request.GET.get("segment")),
        people_list_id=_int(request.GET.get("people_list")),
    )
    if blast.segment_id:
        from nations.people.models import Segment

        blast.segment = Segment.objects.filter(pk=blast.segment_id).first()
    try:
        summary = audience_summary(blast)
        error = ""
    except FilterError as exc:
        summary, error = None, str(exc)
    return render(request, "comms/_audience_count.html", {"summary": summary, "error": error})


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@staff_required(PERMISSION)
@xframe_options_sameorigin
def blast_preview(request, blast_id: int):
    """The email as a given person (?person=<id>) would get it; shown in an iframe."""
    blast = get_object_or_404(Blast.objects.select_related("broadcaster"), pk=blast_id)
    person = None
    if _int(request.GET.get("person")):
        person = Person.objects.filter(pk=_int(request.GET.get("person")), is_erased=False).first()
        if person is None:
            raise Http404
    sample = person or Person(first_name=_("Ada"), last_name="Lovelace", email="ada@example.org")
    try:
        rendered = BlastTemplate(blast, request.tenant, base_url="").render(
            sample, delivery_id=None
        )
    except MergeError as error:
        return HttpResponse(
            f"<p style='font-family:sans-serif;color:#b42318'>{_('This message cannot be shown')}: "
            f"{_escape(str(error))}</p>"
        )
    response = HttpResponse(rendered.html)
    response["Content-Security-Policy"] = "script-src 'none'"
    return response


def _escape(text: str) -> str:
    from html import escape

    return escape(text)


@staff_required(PERMISSION)
def blast_detail(request, blast_id: int):
    blast = get_object_or_404(
        Blast.objects.select_related("broadcaster", "segment", "people_list"), pk=blast_id
    )
    if blast.channel != "email":
        return redirect("panel:comms:phone_detail", blast.pk)
    if blast.status == Blast.Status.DRAFT:
        return redirect("panel:comms:edit", blast.pk)
    return render(
        request,
        "comms/blast_detail.html",
        _ctx(
            blast=blast,
            report=blast_report(blast)
            if blast.sent_count or blast.status == Blast.Status.SENT
            else None,
        ),
    )


@staff_required(PERMISSION)
def blast_progress(request, blast_id: int):
    blast = get_object_or_404(Blast, pk=blast_id)
    response = render(request, "comms/_progress.html", {"blast": blast})
    if not blast.is_live and request.htmx:
        response["HX-Refresh"] = "true"  # finished: reload the page, which now has the report
    return response


@require_POST
@staff_required(PERMISSION)
def blast_action(request, blast_id: int, action: str):
    blast = get_object_or_404(Blast.objects.select_related("broadcaster"), pk=blast_id)
    nation = request.tenant
    try:
        if action == "send":
            actions.blast_send(blast=blast, nation=nation)
            messages.success(request, _("Sending has started."))
            return redirect("panel:comms:detail", blast.pk)
        if action == "schedule":
            form = ScheduleForm(request.POST, nation=nation)
            if not form.is_valid():
                messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
                return redirect("panel:comms:edit", blast.pk)
            actions.blast_send(blast=blast, nation=nation, at=form.cleaned_data["at"])
            messages.success(request, _("Scheduled."))
            return redirect("panel:comms:detail", blast.pk)
        if action == "test":
            form = TestSendForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Enter a valid email address for the test."))
                return redirect("panel:comms:edit", blast.pk)
            actions.blast_test_send(blast=blast, nation=nation, to=form.cleaned_data["email"])
            messages.success(
                request,
                _("A test is on its way to %(email)s.") % {"email": form.cleaned_data["email"]},
            )
            return redirect("panel:comms:edit", blast.pk)
        if action == "unschedule":
            actions.blast_unschedule(blast=blast)
            return redirect("panel:comms:edit", blast.pk)
        if action == "pause":
            actions.blast_pause(blast=blast)
        elif action == "resume":
            actions.blast_resume(blast=blast)
        elif action == "cancel":
            actions.blast_cancel(blast=blast)
        else:
            raise Http404
    except (actions.BlastError, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect("panel:comms:edit" if blast.is_editable else "panel:comms:detail", blast.pk)
    return redirect("panel:comms:detail", blast.pk)


@staff_required(PERMISSION)
def broadcasters(request):
    form = BroadcasterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        broadcaster = actions.broadcaster_save(**form.cleaned_data)
        messages.success(
            request, _("Sender added. Publish the DNS records below so inboxes trust it.")
        )
        return redirect("panel:comms:broadcaster", broadcaster.pk)
    return render(
        request,
        "comms/broadcasters.html",
        _ctx(form=form, broadcasters=Broadcaster.objects.all(), tab="senders"),
    )


@staff_required(PERMISSION)
def broadcaster_edit(request, broadcaster_id: int):
    broadcaster = get_object_or_404(Broadcaster, pk=broadcaster_id)
    form = BroadcasterForm(request.POST or None, instance=broadcaster)
    if request.method == "POST" and form.is_valid():
        actions.broadcaster_save(broadcaster=broadcaster, **form.cleaned_data)
        messages.success(request, _("Sender saved."))
        return redirect("panel:comms:broadcaster", broadcaster.pk)
    status = {r["purpose"]: r for r in (broadcaster.dns_status or {}).get("records", [])}
    records = [{**r, "check": status.get(r["purpose"])} for r in dns_records(broadcaster)]
    return render(
        request,
        "comms/broadcaster_edit.html",
        _ctx(
            form=form,
            broadcaster=broadcaster,
            records=records,
            checked_at=parse_datetime((broadcaster.dns_status or {}).get("checked_at") or ""),
            tab="senders",
        ),
    )


@require_POST
@staff_required(PERMISSION)
def broadcaster_check(request, broadcaster_id: int):
    """Re-check the sender's DNS records now."""
    broadcaster = get_object_or_404(Broadcaster, pk=broadcaster_id)
    broadcaster = actions.broadcaster_check_domain(broadcaster=broadcaster)
    if broadcaster.domain_verified_at:
        messages.success(request, _("%(domain)s is verified.") % {"domain": broadcaster.domain})
    else:
        messages.error(
            request,
            _("Not verified yet: check the records marked below (DNS changes can take an hour)."),
        )
    return redirect("panel:comms:broadcaster", broadcaster.pk)


@staff_required("settings.manage")
def sending_backend(request):
    """How the nation's email leaves: the platform's service, its own SMTP relay or ESP."""
    own = SendingBackend.objects.filter(pk=1).first() or SendingBackend(pk=1)
    form = SendingBackendForm(request.POST or None, instance=own)
    if request.method == "POST" and form.is_valid():
        try:
            actions.sending_backend_save(**form.cleaned_data)
        except actions.BackendError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Sending settings saved; they apply to the next emails."))
            return redirect("panel:comms:sending")
    return render(request, "comms/sending_backend.html", _ctx(form=form, tab="sending"))
