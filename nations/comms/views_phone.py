"""Panel screens of SMS and voice (tabs of the Communication area): lists, the composer with its
live counts, the report, the inbox and the Twilio settings. Sending, pausing and cancelling go
through the email blasts' action view (views.blast_action): the pipeline is the same."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from nations.panel.access import staff_required
from nations.people.filters import FilterError
from nations.people.models import Person, Segment

from . import actions, phone, telephony
from .audience import phone_audience_summary
from .forms import PhoneBlastForm, ScheduleForm, TwilioAccountForm
from .models import Blast, Delivery, InboundMessage
from .render import MergeError
from .report import OUTCOME_LABELS, phone_report
from .views import PERMISSION, _actor, _ctx, _int

CHANNELS = ("sms", "voice")


def _senders() -> list[str]:
    try:
        return list(telephony.credentials().senders)
    except telephony.TelephonyError:
        return list(telephony.account_settings().senders)


def _channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise Http404
    return channel


@staff_required(PERMISSION)
def phone_blasts(request, channel: str):
    channel = _channel(channel)
    page = Paginator(Blast.objects.filter(channel=channel), 25).get_page(request.GET.get("page"))
    try:
        telephony.credentials()
        ready = bool(_senders())
    except telephony.TelephonyError:
        ready = False
    return render(
        request, "comms/phone_list.html", _ctx(page=page, tab=channel, channel=channel, ready=ready)
    )


@staff_required(PERMISSION)
def phone_new(request, channel: str):
    channel = _channel(channel)
    senders = _senders()
    if not senders:
        messages.info(request, _("First set up texts and calls: a Twilio account and a sender."))
        return redirect("panel:comms:sms_settings")
    form = PhoneBlastForm(
        request.POST or None, request.FILES or None, channel=channel, senders=senders
    )
    if request.method == "POST" and form.is_valid():
        blast = actions.blast_save(actor=_actor(request), channel=channel, **form.cleaned_data)
        messages.success(request, _("Draft saved."))
        return redirect("panel:comms:phone_edit", blast.pk)
    return render(
        request, "comms/phone_edit.html", _ctx(form=form, blast=None, channel=channel, tab=channel)
    )


def _phone_blast(blast_id: int) -> Blast:
    return get_object_or_404(Blast, pk=blast_id, channel__in=CHANNELS)


@staff_required(PERMISSION)
def phone_audio(request, blast_id: int):
    """The saved voice message, for staff to listen to in the editor (the nation's storage;
    the public media view serves images only)."""
    blast = _phone_blast(blast_id)
    if not blast.audio or not default_storage.exists(blast.audio.name):
        raise Http404
    kind = "audio/wav" if blast.audio.name.lower().endswith(".wav") else "audio/mpeg"
    response = FileResponse(default_storage.open(blast.audio.name), content_type=kind)
    response["Cache-Control"] = "private, max-age=0"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_required(PERMISSION)
def phone_edit(request, blast_id: int):
    blast = _phone_blast(blast_id)
    if not blast.is_editable:
        return redirect("panel:comms:phone_detail", blast.pk)
    form = PhoneBlastForm(
        request.POST or None,
        request.FILES or None,
        instance=blast,
        channel=blast.channel,
        senders=_senders() or [blast.sender],
    )
    if request.method == "POST" and form.is_valid():
        actions.blast_save(blast=blast, **form.cleaned_data)
        messages.success(request, _("Draft saved."))
        return redirect("panel:comms:phone_edit", blast.pk)
    problem = ""
    try:
        actions.blast_check(blast, request.tenant)
    except actions.BlastError as error:
        problem = str(error)
    measure = _measure(blast)
    return render(
        request,
        "comms/phone_edit.html",
        _ctx(
            form=form,
            blast=blast,
            channel=blast.channel,
            tab=blast.channel,
            problem=problem or measure.get("error", ""),
            summary=measure.get("summary"),
            measure=measure,
            schedule_form=ScheduleForm(nation=request.tenant),
        ),
    )


def _measure(blast: Blast) -> dict:
    """Recipients, characters, encoding, segments and cost of the blast as composed."""
    out: dict = {"channel": blast.channel, "currency": settings.COMMS_SMS_PRICE_CURRENCY}
    try:
        out["summary"] = phone_audience_summary(blast)
    except FilterError as error:
        out["error"] = str(error)
        return out
    try:
        preview = phone.sms_preview(blast.text, recipients=out["summary"]["recipients"])
    except MergeError as error:
        out["error"] = str(error)
        return out
    out["preview"] = preview
    if blast.channel == "sms" and preview.size.segments > telephony.MAX_SEGMENTS:
        try:
            telephony.check_size(preview.text)
        except telephony.TelephonyError as error:
            out["error"] = str(error)
    return out


@staff_required(PERMISSION)
def phone_measure(request):
    """The live counts beside the composer (htmx, as the text or the audience change)."""
    data = request.GET
    blast = Blast(
        channel=_channel(data.get("channel", "sms")),
        text=data.get("text", ""),
        audience=data.get("audience", Blast.Audience.SEGMENT),
        segment_id=_int(data.get("segment")),
        people_list_id=_int(data.get("people_list")),
    )
    if blast.segment_id:
        blast.segment = Segment.objects.filter(pk=blast.segment_id).first()
    return render(request, "comms/_phone_measure.html", {"measure": _measure(blast)})


@staff_required(PERMISSION)
def phone_detail(request, blast_id: int):
    blast = _phone_blast(blast_id)
    if blast.status == Blast.Status.DRAFT:
        return redirect("panel:comms:phone_edit", blast.pk)
    people = (
        Delivery.objects.filter(blast=blast, status__in=("sent", "skipped", "failed"))
        .order_by("-id")
        .values("person_id", "address", "status", "outcome", "error")
    )
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    names = dict(
        Person.objects.filter(pk__in=[r["person_id"] for r in page.object_list]).values_list(
            "pk", "first_name"
        )
    )
    return render(
        request,
        "comms/phone_detail.html",
        _ctx(
            blast=blast,
            channel=blast.channel,
            tab=blast.channel,
            report=phone_report(blast),
            page=page,
            rows=[
                {
                    **r,
                    "name": names.get(r["person_id"], ""),
                    "outcome": OUTCOME_LABELS.get(r["outcome"], r["outcome"]),
                }
                for r in page.object_list
            ],
        ),
    )


@staff_required(PERMISSION)
def inbox(request):
    found = InboundMessage.objects.all()
    query = request.GET.get("q", "").strip()
    if query:
        found = found.filter(Q(body__icontains=query) | Q(from_number__contains=query))
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    people = {
        p.pk: p
        for p in Person.objects.filter(
            pk__in=[m.person_id for m in page.object_list if m.person_id]
        )
    }
    rows = [(m, people.get(m.person_id)) for m in page.object_list]
    return render(request, "comms/inbox.html", _ctx(page=page, rows=rows, q=query, tab="inbox"))


@staff_required(PERMISSION)
def sms_settings(request):
    account = telephony.account_settings()
    initial = {
        "mode": account.mode,
        "account_sid": account.account_sid,
        "senders": "\n".join(account.senders),
        "quiet_start": account.quiet_start,
        "quiet_end": account.quiet_end,
        "forward_to": account.forward_to,
    }
    form = TwilioAccountForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            phone.twilio_account_save(**form.cleaned_data)
        except telephony.TelephonyError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("SMS settings saved."))
            return redirect("panel:comms:sms_settings")
    inbound_url = request.build_absolute_uri("/e/twilio/sms/")
    return render(
        request,
        "comms/sms_settings.html",
        _ctx(
            form=form,
            account=account,
            numbers=phone.twilio_numbers() if request.method == "GET" else [],
            inbound_url=inbound_url,
            tab="sms_settings",
        ),
    )
