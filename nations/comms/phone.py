"""Every write of SMS and voice: the Twilio settings, checking an SMS or voice blast before it
goes, and what Twilio tells us afterwards (status callbacks, inbound texts with their STOP and
START keywords, the voice flow's answers and key presses)."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from twilio.base.exceptions import TwilioException
from twilio.twiml.voice_response import Gather, VoiceResponse

from billing.limits import FeatureNotInPlan, require_feature
from nations.people.actions import activity_record, consent_set
from nations.people.filters import FilterError
from nations.people.models import Activity, Channel, Consent, Person, PersonPhone

from . import telephony
from .actions import BlastError
from .audience import audience_people
from .audio import AudioError, AudioInfo, audio_info, duration_label
from .models import Blast, Delivery, DeliveryEvent, InboundMessage, TwilioAccount

log = logging.getLogger(__name__)

STOP_WORDS = {"STOP", "ARRET", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "UNSTOP", "YES"}
AUDIO_TYPES = {
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
}


# --- settings --------------------------------------------------------------------------------------
def twilio_account_save(
    *,
    mode: str,
    account_sid: str = "",
    auth_token: str = "",
    senders: list[str],
    quiet_start,
    quiet_end,
    forward_to: str = "",
) -> TwilioAccount:
    """Save the nation's SMS settings. Own account: the credentials are tried against Twilio
    (a list of its numbers) before they are kept; a blank token keeps the stored one."""
    account = telephony.account_settings()
    account.mode = mode
    account.senders = [telephony.clean_sender(s) for s in senders if s.strip()]
    account.quiet_start, account.quiet_end = quiet_start, quiet_end
    account.forward_to = telephony.callable_number(forward_to)[0] if forward_to.strip() else ""
    if forward_to.strip() and not account.forward_to:
        raise telephony.TelephonyError(_("The staff number for “press 1” is not a valid number."))
    if mode == TwilioAccount.Mode.OWN:
        account.account_sid = account_sid.strip()
        if auth_token.strip():
            account.auth_token = auth_token.strip()
        if not account.account_sid.startswith("AC") or not account.auth_token:
            raise telephony.TelephonyError(
                _("Enter your Twilio account SID (it starts with AC) and auth token.")
            )
        try:
            client = telephony.client_for(telephony.credentials(account))
            client.incoming_phone_numbers.list(limit=20)
        except TwilioException as error:
            raise telephony.TelephonyError(
                _("Twilio refused these credentials (%(detail)s).") % {"detail": _detail(error)}
            ) from error
        except OSError as error:
            raise telephony.TelephonyError(
                _("Twilio could not be reached: %(detail)s") % {"detail": error}
            ) from error
        account.checked_at = timezone.now()
    account.check_error = ""
    account.updated_at = timezone.now()
    account.save()
    return account


def _detail(error: TwilioException) -> str:
    """Twilio's own words: a REST error's message, or a list page's HTTP status."""
    if getattr(error, "msg", ""):
        return str(error.msg)
    response = error.args[1] if len(error.args) > 1 else None
    return f"HTTP {getattr(response, 'status_code', '?')}"


def twilio_numbers() -> list[str]:
    """The phone numbers of the account in use (to pick senders from); [] if unreachable."""
    try:
        client = telephony.client_for(telephony.credentials())
        return [n.phone_number for n in client.incoming_phone_numbers.list(limit=50)]
    except (telephony.TelephonyError, TwilioException, OSError):
        return []


# --- blasts ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SmsPreview:
    text: str
    size: telephony.SmsSize
    cost: float


def sms_preview(text: str, *, recipients: int = 0) -> SmsPreview:
    """The message as a sample person gets it, its size and the estimated cost for the audience.
    Raises MergeError if a merge field cannot be rendered."""
    from .channels_phone import TextTemplate

    sample = Person(first_name="Ada", last_name="Lovelace", city="Lyon")
    rendered = TextTemplate(text).render(sample) if text.strip() else ""
    size = telephony.sms_size(rendered)
    return SmsPreview(rendered, size, recipients * size.segments * settings.COMMS_SMS_SEGMENT_PRICE)


def phone_blast_check(blast: Blast, nation) -> None:
    """Raise BlastError unless the SMS or voice blast can go: plan, account, sender, message."""
    from .render import MergeError

    feature = "sms" if blast.channel == "sms" else "voice"
    try:
        require_feature(nation, feature)
    except FeatureNotInPlan as error:
        raise BlastError(str(error)) from error
    try:
        creds = telephony.credentials()
    except telephony.TelephonyError as error:
        raise BlastError(str(error)) from error
    if not (blast.sender or creds.senders):
        raise BlastError(_("Pick who the message is from (add a sender in the SMS settings)."))
    if blast.channel == "voice":
        sender = blast.sender or creds.senders[0]
        if not sender.startswith("+"):
            raise BlastError(_("Calls need a phone number as sender, not an alphanumeric id."))
        if not (blast.audio or blast.text.strip()):
            raise BlastError(_("Record or upload an audio message, or write the text to be read."))
    elif not blast.text.strip():
        raise BlastError(_("The message is empty."))
    try:
        audience_people(blast)
    except FilterError as error:
        raise BlastError(str(error)) from error
    try:
        preview = sms_preview(blast.text)
    except MergeError as error:
        raise BlastError(str(error)) from error
    if blast.channel == "sms":
        try:
            telephony.check_size(preview.text)
        except telephony.TelephonyError as error:
            raise BlastError(str(error)) from error


def audio_check(upload) -> AudioInfo:
    """An uploaded or recorded voice message: an MP3, or a WAV of PCM audio no longer than
    COMMS_VOICE_AUDIO_MAX_SECONDS; at most COMMS_VOICE_AUDIO_MAX_BYTES either way. The bytes
    decide, not the name or the content type. Raises BlastError with a message for the user."""
    if upload.size > settings.COMMS_VOICE_AUDIO_MAX_BYTES:
        raise BlastError(
            _("The audio file is too large (%(mb)d MB at most).")
            % {"mb": settings.COMMS_VOICE_AUDIO_MAX_BYTES // (1024 * 1024)}
        )
    try:
        info = audio_info(upload, upload.size)
    except AudioError as error:
        messages = {
            "format": _("Upload an MP3 or WAV file (phones play nothing else)."),
            "wav-header": _("This WAV file is damaged: its header does not describe PCM audio."),
            "wav-codec": _(
                "This WAV file is compressed; phones need uncompressed PCM WAV (or an MP3)."
            ),
            "truncated": _(
                "This audio file is incomplete (cut off during the upload or the export). "
                "Record or export it again."
            ),
            "empty": _("This audio file holds no sound."),
        }
        raise BlastError(messages[error.reason]) from error
    limit = settings.COMMS_VOICE_AUDIO_MAX_SECONDS
    # Half a second of grace: a recorder stopped by its timer may overshoot by a few frames.
    if info.seconds is not None and info.seconds > limit + 0.5:
        raise BlastError(
            _("The message lasts %(length)s; %(limit)s at most.")
            % {"length": duration_label(info.seconds), "limit": duration_label(limit)}
        )
    return info


# --- what Twilio tells us ------------------------------------------------------------------------------
def _event(delivery: Delivery, kind: str, *, detail: str = "", event_id: str) -> bool:
    try:
        with transaction.atomic():
            DeliveryEvent.objects.create(
                delivery=delivery,
                blast_id=delivery.blast_id,
                kind=kind,
                detail=detail[:300],
                provider_event_id=event_id,
            )
    except IntegrityError:
        return False
    return True


def sms_status(*, message_sid: str, status: str, error_code: str = "") -> bool:
    """A message status callback. Unknown SIDs are ignored (False); replays change nothing."""
    delivery = Delivery.objects.filter(provider_id=message_sid, channel="sms").first()
    if delivery is None:
        return False
    if status == "delivered":
        Delivery.objects.filter(pk=delivery.pk).update(outcome="delivered")
        _event(delivery, DeliveryEvent.Kind.DELIVERED, event_id=f"twilio:{message_sid}:delivered")
    elif status in ("undelivered", "failed"):
        Delivery.objects.filter(pk=delivery.pk).update(outcome=status)
        _event(
            delivery,
            DeliveryEvent.Kind.BOUNCED,
            detail=f"{status} {error_code}".strip(),
            event_id=f"twilio:{message_sid}:{status}",
        )
    elif status in ("sent", "queued", "sending", "accepted"):
        Delivery.objects.filter(pk=delivery.pk, outcome="").update(outcome="sent")
    return True


def keyword_of(body: str) -> str:
    """ "stop" or "start" when the whole text is one of the opt-out / opt-in keywords."""
    word = unicodedata.normalize("NFKD", (body or "").strip()).encode("ascii", "ignore").decode()
    word = word.strip(" .!").upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return ""


def _person_by_number(number: str) -> Person | None:
    return (
        Person.objects.filter(is_erased=False)
        .filter(
            Q(phone=number)
            | Q(pk__in=PersonPhone.objects.filter(number=number).values("person_id"))
        )
        .order_by("id")
        .first()
    )


@transaction.atomic
def sms_received(
    *, message_sid: str, from_number: str, to_number: str, body: str
) -> InboundMessage:
    """An inbound text: into the inbox and on the sender's timeline; STOP words withdraw SMS
    consent at once, START words give it back (the person asked). Replays are no-ops."""
    existing = InboundMessage.objects.filter(provider_id=message_sid).first()
    if existing is not None:
        return existing
    person = _person_by_number(from_number)
    keyword = keyword_of(body)
    message = InboundMessage.objects.create(
        provider_id=message_sid,
        from_number=from_number[:20],
        to_number=to_number[:20],
        body=body[:2000],
        person_id=person.pk if person else None,
        keyword=keyword,
    )
    if person is None:
        return message
    activity_record(
        person=person,
        kind=Activity.Kind.SMS_RECEIVED,
        summary=body[:300],
        data={"inbound": message.pk, "to": to_number},
    )
    if keyword:
        consent_set(
            person=person,
            channel=Channel.SMS,
            status=Consent.WITHDRAWN if keyword == "stop" else Consent.GRANTED,
            source=f"sms:{body.strip().upper()[:20]}",
            wording=body[:300],
            by_person=True,
        )
    return message


# --- voice -------------------------------------------------------------------------------------------------
def _say(response, text: str, language: str) -> None:
    response.say(text, language="fr-FR" if language == "fr" else "en-US")


def _message(node, blast: Blast, audio_url: str, language: str) -> None:
    if blast.audio and audio_url:
        node.play(audio_url)
    else:
        _say(node, blast.text, language)


def call_answered(
    *, delivery: Delivery, answered_by: str, language: str, audio_url: str, keys_url: str
) -> str:
    """The TwiML a call plays when picked up. A machine gets the message as a voicemail; a
    person hears it in a <Gather>: 1 to talk to the staff number, 9 never to be called again."""
    blast = Blast.objects.get(pk=delivery.blast_id)
    response = VoiceResponse()
    machine = answered_by.startswith("machine") or answered_by == "fax"
    Delivery.objects.filter(pk=delivery.pk).update(outcome="voicemail" if machine else "answered")
    if machine:
        _message(response, blast, audio_url, language)
        response.hangup()
        return str(response)
    gather = Gather(num_digits=1, action=keys_url, method="POST", timeout=8)
    _message(gather, blast, audio_url, language)
    prompt = (
        "Tapez 1 pour nous parler. Tapez 9 pour ne plus jamais être appelé."
        if language == "fr"
        else "Press 1 to talk to us. Press 9 never to be called again."
    )
    _say(gather, prompt, language)
    response.append(gather)
    _say(response, "Merci, au revoir." if language == "fr" else "Thank you, goodbye.", language)
    return str(response)


def call_keys(*, delivery: Delivery, digits: str, language: str) -> str:
    """What a key press does: 1 forwards to the staff number, 9 withdraws phone consent."""
    blast = Blast.objects.get(pk=delivery.blast_id)
    response = VoiceResponse()
    fr = language == "fr"
    if digits == "9":
        person = Person.objects.filter(pk=delivery.person_id, is_erased=False).first()
        if person is not None:
            consent_set(
                person=person,
                channel=Channel.PHONE,
                status=Consent.WITHDRAWN,
                source="voice:press-9",
                wording=_("Pressed 9 during the call “%(name)s”") % {"name": str(blast)},
                by_person=True,
            )
        _say(
            response,
            "C'est noté : nous ne vous appellerons plus. Au revoir."
            if fr
            else "Done: we will not call you again. Goodbye.",
            language,
        )
        response.hangup()
        return str(response)
    if digits == "1":
        forward = blast.forward_to or telephony.account_settings().forward_to
        if forward:
            _say(
                response,
                "Nous vous mettons en relation." if fr else "Connecting you now.",
                language,
            )
            response.dial(forward)
            return str(response)
        _say(
            response,
            "Personne n'est disponible pour le moment. Au revoir."
            if fr
            else "Nobody is available right now. Goodbye.",
            language,
        )
        return str(response)
    _say(response, "Merci, au revoir." if fr else "Thank you, goodbye.", language)
    return str(response)


CALL_OUTCOMES = {"busy": "busy", "no-answer": "no-answer", "failed": "failed", "canceled": "failed"}


def call_status(*, call_sid: str, status: str, answered_by: str = "") -> bool:
    """The final status of a call: answered, voicemail, no answer, busy or failed, once on the
    person's timeline. Unknown SIDs are ignored (False)."""
    delivery = Delivery.objects.filter(provider_id=call_sid, channel="voice").first()
    if delivery is None:
        return False
    if status == "completed":
        machine = answered_by.startswith("machine") or answered_by == "fax"
        outcome = delivery.outcome or ("voicemail" if machine else "answered")
    elif status in CALL_OUTCOMES:
        outcome = CALL_OUTCOMES[status]
    else:
        return True  # ringing, in-progress: the final callback follows
    Delivery.objects.filter(pk=delivery.pk).update(outcome=outcome)
    first = _event(
        delivery,
        DeliveryEvent.Kind.DELIVERED if status == "completed" else DeliveryEvent.Kind.BOUNCED,
        detail=outcome,
        event_id=f"twilio:{call_sid}:final",
    )
    person = Person.objects.filter(pk=delivery.person_id, is_erased=False).first()
    if first and person is not None:
        labels = {
            "answered": _("answered"),
            "voicemail": _("voicemail"),
            "no-answer": _("no answer"),
            "busy": _("busy"),
            "failed": _("failed"),
        }
        activity_record(
            person=person,
            kind=Activity.Kind.CALLED,
            summary=labels.get(outcome, outcome),
            data={"blast": delivery.blast_id, "delivery": delivery.pk, "outcome": outcome},
        )
    return True
