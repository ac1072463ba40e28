"""Twilio's callbacks on the nation's host (the host names the nation, so a callback can only
touch the nation whose URL it was given): message and call status, inbound texts, and the
voice flow's TwiML. Every request must carry a valid X-Twilio-Signature for the account the
nation uses (its own, or the platform's): a forged one is a 403. A SID we do not know is a 2xx
no-op, so Twilio does not retry it forever."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import connection
from django.http import FileResponse, Http404, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.twiml.messaging_response import MessagingResponse

from . import phone, telephony
from .channels_phone import call_path
from .models import Blast, Delivery
from .tokens import read_token


def _signed(view):
    def wrapper(request, *args, **kwargs):
        if not telephony.signature_valid(request):
            return HttpResponseForbidden("invalid Twilio signature")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return csrf_exempt(require_POST(wrapper))


def _twiml(body: str) -> HttpResponse:
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


def _call_delivery(token: str) -> Delivery:
    delivery_id = read_token(connection.schema_name, token)
    delivery = (
        Delivery.objects.filter(pk=delivery_id, channel="voice").first() if delivery_id else None
    )
    if delivery is None or delivery.blast_id is None:
        raise Http404
    return delivery


@_signed
def sms_status(request):
    phone.sms_status(
        message_sid=request.POST.get("MessageSid", ""),
        status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
    )
    return HttpResponse(status=204)


@_signed
def sms_inbound(request):
    post = request.POST
    phone.sms_received(
        message_sid=post.get("MessageSid", ""),
        from_number=post.get("From", ""),
        to_number=post.get("To", ""),
        body=post.get("Body", ""),
    )
    return _twiml(str(MessagingResponse()))  # no automatic reply: Twilio confirms STOP itself


@_signed
def call_status(request):
    phone.call_status(
        call_sid=request.POST.get("CallSid", ""),
        status=request.POST.get("CallStatus", ""),
        answered_by=request.POST.get("AnsweredBy", ""),
    )
    return HttpResponse(status=204)


def _language(request) -> str:
    return (getattr(request.tenant, "language", "") or "en")[:2]


@_signed
def call_answered(request, call_token: str):
    delivery = _call_delivery(call_token)
    base = request.build_absolute_uri("/").rstrip("/")
    return _twiml(
        phone.call_answered(
            delivery=delivery,
            answered_by=request.POST.get("AnsweredBy", "human"),
            language=_language(request),
            audio_url=base + call_path(call_token, "audio"),
            keys_url=base + call_path(call_token, "keys"),
        )
    )


@_signed
def call_keys(request, call_token: str):
    delivery = _call_delivery(call_token)
    return _twiml(
        phone.call_keys(
            delivery=delivery, digits=request.POST.get("Digits", ""), language=_language(request)
        )
    )


def call_audio(request, call_token: str):
    """The recorded message, for Twilio's <Play> (reachable only with a call's token)."""
    delivery = _call_delivery(call_token)
    blast = Blast.objects.filter(pk=delivery.blast_id).first()
    if blast is None or not blast.audio or not default_storage.exists(blast.audio.name):
        raise Http404
    kind = "audio/wav" if blast.audio.name.lower().endswith(".wav") else "audio/mpeg"
    return FileResponse(default_storage.open(blast.audio.name), content_type=kind)
