"""What SMS and voice need besides the pipeline: the Twilio client (the official SDK, pointed at
TWILIO_API_BASE when set), GSM-7/UCS-2 segment counting, mobile-number checks, quiet hours in
the recipient's time zone, and the signature check of Twilio's callbacks."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumbers import timezone as phone_timezone
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from .models import TwilioAccount

MAX_SEGMENTS = 10

# GSM 03.38: the basic set (one septet each) and the extension table (two: escape + char).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


class TelephonyError(ValueError):
    """SMS or voice cannot be used as configured; the message says why, for staff."""


# --- message size --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SmsSize:
    characters: int
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int


def sms_size(body: str) -> SmsSize:
    """How carriers will split `body`: one non-GSM character (an emoji, a curly quote) turns the
    whole message into UCS-2, 70 units in one segment or 67 per part of a longer one."""
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in body):
        units = len(body) + sum(1 for c in body if c in GSM_EXTENDED)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(body.encode("utf-16-le")) // 2  # an emoji is two units
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 0 if not units else 1 if units <= single else -(-units // multi)
    return SmsSize(len(body), encoding, units, segments, single if segments <= 1 else multi)


def check_size(body: str) -> SmsSize:
    size = sms_size(body)
    if size.segments > MAX_SEGMENTS:
        raise TelephonyError(
            _(
                "This text would be split into %(n)d parts (%(encoding)s); carriers accept at most "
                "%(max)d. Shorten it (an emoji or a special character halves the room)."
            )
            % {"n": size.segments, "encoding": size.encoding, "max": MAX_SEGMENTS}
        )
    return size


# --- numbers ---------------------------------------------------------------------------------------
def mobile_number(value: str, *, region: str = "FR") -> tuple[str, str]:
    """(E.164, "") for a valid mobile number, or ("", why not) — texts reach mobiles only."""
    try:
        number = phonenumbers.parse(value or "", (region or "FR").upper())
    except phonenumbers.NumberParseException:
        return "", _("not a phone number")
    if not phonenumbers.is_valid_number(number):
        return "", _("not a valid phone number")
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        return "", _("a landline cannot receive texts")
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return "", _("not a mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def callable_number(value: str, *, region: str = "FR") -> tuple[str, str]:
    """(E.164, "") for any valid number a voice call can reach, or ("", why not)."""
    try:
        number = phonenumbers.parse(value or "", (region or "FR").upper())
    except phonenumbers.NumberParseException:
        return "", _("not a phone number")
    if not phonenumbers.is_valid_number(number):
        return "", _("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")


def clean_sender(value: str) -> str:
    """A sender: an E.164 number, or an alphanumeric id (1-11 letters/digits, one letter)."""
    value = " ".join((value or "").split())
    if SENDER_ID.match(value):
        return value
    number, why = callable_number(value)
    if not number:
        raise TelephonyError(
            _("“%(value)s” is neither a phone number nor an alphanumeric sender id (%(why)s).")
            % {"value": value, "why": why}
        )
    return number


# --- quiet hours ---------------------------------------------------------------------------------
def recipient_zone(number: str, fallback: str = "UTC") -> zoneinfo.ZoneInfo:
    """The recipient's time zone from their number; a country with several zones (the US,
    France with its overseas numbers) gives the first one, which the region's prefix narrows."""
    try:
        zones = phone_timezone.time_zones_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        zones = ()
    for name in (*zones, fallback, "UTC"):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
    return zoneinfo.ZoneInfo("UTC")


def quiet_until(
    number: str, *, now: datetime, start, end, fallback: str = "UTC"
) -> datetime | None:
    """When the quiet hours that `now` falls in end for this recipient, or None if it is day."""
    zone = recipient_zone(number, fallback)
    local = now.astimezone(zone)
    t = local.time()
    quiet = (t >= start or t < end) if start > end else (start <= t < end)
    if not quiet:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)


# --- the client ------------------------------------------------------------------------------------
class BaseUrlHttpClient(TwilioHttpClient):
    """The SDK's HTTP client with https://*.twilio.com rewritten to another base (the local
    Twilio server in development and tests). No retries here: the pipeline retries."""

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base = base.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if self.base:
            url = re.sub(r"^https://[a-z0-9.-]*twilio\.com", self.base, url)
        return super().request(method, url, *args, **kwargs)


@dataclass(frozen=True)
class Credentials:
    account_sid: str
    auth_token: str
    senders: tuple[str, ...]
    own: bool


def account_settings() -> TwilioAccount:
    return TwilioAccount.objects.first() or TwilioAccount()


def credentials(account: TwilioAccount | None = None) -> Credentials:
    """The nation's own Twilio account when connected, else the platform's."""
    account = account or account_settings()
    if account.mode == TwilioAccount.Mode.OWN:
        if not (account.account_sid and account.auth_token):
            raise TelephonyError(_("Enter your Twilio account SID and auth token first."))
        return Credentials(account.account_sid, account.auth_token, tuple(account.senders), True)
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
        raise TelephonyError(
            _(
                "Texts and calls are not available on this platform yet: connect your own Twilio account."
            )
        )
    senders = tuple(account.senders) or ((settings.TWILIO_FROM,) if settings.TWILIO_FROM else ())
    return Credentials(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, senders, False)


def client_for(creds: Credentials) -> Client:
    http = BaseUrlHttpClient(settings.TWILIO_API_BASE, settings.TWILIO_TIMEOUT)
    return Client(creds.account_sid, creds.auth_token, http_client=http)


def signature_valid(request) -> bool:
    """Whether a callback was signed by our Twilio account (the nation's, or the platform's
    for nations on it). The URL is the one Twilio called, as this request rebuilds it."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    url = request.build_absolute_uri()
    params = request.POST.dict()
    tokens = []
    account = TwilioAccount.objects.first()
    if account and account.mode == TwilioAccount.Mode.OWN and account.auth_token:
        tokens.append(account.auth_token)
    elif settings.TWILIO_AUTH_TOKEN:
        tokens.append(settings.TWILIO_AUTH_TOKEN)
    return any(RequestValidator(token).validate(url, params, signature) for token in tokens)


def now() -> datetime:
    return timezone.now()
