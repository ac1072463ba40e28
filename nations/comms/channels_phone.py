"""SMS and voice on the delivery pipeline: each handler checks its claimed rows (consent still
given, a mobile or callable number, not inside the recipient's quiet hours), renders the text
and hands each message or call to Twilio through the official SDK.

Never twice: a row is claimed by one worker (SKIP LOCKED), its id is written to the hand-over
journal just before the create request, and only an answer that proves Twilio did not take it
(429, 5xx, a refused connection) puts it back in the queue, with the pipeline's backoff. A
timeout after the request left is not retried: Twilio may have queued it."""

from __future__ import annotations

import logging

import requests
from django.utils.translation import gettext as _
from twilio.base.exceptions import TwilioRestException

from billing.limits import has_feature
from nations.people.models import Consent, Person
from tenants.hosts import nation_url

from . import telephony
from .models import Blast
from .pipeline import BatchResult, Claimed
from .render import PERSON_FIELDS, MergeError, _parse, _render, _text_env, person_context

log = logging.getLogger(__name__)

# Paths of our Twilio endpoints on the nation's host (urls_public.py): the host names the nation.
SMS_STATUS_PATH = "/e/twilio/sms/status/"
SMS_INBOUND_PATH = "/e/twilio/sms/"
CALL_STATUS_PATH = "/e/twilio/voice/status/"


def call_path(token: str, step: str = "") -> str:
    return f"/e/twilio/voice/{token}/{step + '/' if step else ''}"


class TextTemplate:
    """A blast's text parsed once by the themes' sandboxed Liquid engine, rendered per person."""

    def __init__(self, source: str) -> None:
        self.template = _parse(_text_env, source, _("Message"))

    def render(self, person) -> str:
        return _render(self.template, "Message", person_context(person)).strip()


class PhoneHandler:
    channel = "sms"
    feature = "sms"
    consent_field = "sms_consent"
    timeline_kind = "sms_sent"
    meter: str | None = "sms"

    def __init__(self, nation) -> None:
        self.nation = nation
        self.base_url = nation_url(nation).rstrip("/")
        self.subjects: dict[int, str] = {}
        self.blasts: dict[int, Blast] = {}
        self.templates: dict[int, TextTemplate | MergeError] = {}
        self.account = telephony.account_settings()
        self.problem = ""
        self.client = None
        try:
            self.creds = telephony.credentials(self.account)
            self.client = telephony.client_for(self.creds)
        except telephony.TelephonyError as error:
            self.problem = str(error)
        if not has_feature(nation, self.feature):
            self.problem = _("Your plan does not include this channel.")

    # --- per blast ---------------------------------------------------------------------------
    def blast(self, blast_id: int) -> Blast:
        if blast_id not in self.blasts:
            blast = Blast.objects.get(pk=blast_id)
            self.blasts[blast_id] = blast
            self.subjects[blast_id] = blast.name or blast.text[:80]
            try:
                self.templates[blast_id] = TextTemplate(blast.text)
            except MergeError as error:
                self.templates[blast_id] = error
        return self.blasts[blast_id]

    def _pause(self, blast_ids, message: str) -> None:
        Blast.objects.filter(pk__in=blast_ids, status=Blast.Status.SENDING).update(
            status=Blast.Status.PAUSED, status_message=message[:300]
        )

    def sender(self, blast: Blast | None, payload: dict | None) -> str:
        chosen = (blast.sender if blast else (payload or {}).get("from", "")) or ""
        return chosen or (self.creds.senders[0] if self.creds.senders else "")

    # --- the batch -----------------------------------------------------------------------------
    def send_batch(self, rows: list[Claimed], result: BatchResult, journal) -> None:
        if self.problem:
            # Nothing can go out: blasts pause with the reason, transactional rows fail.
            from .pipeline import _refund

            blast_rows = [r for r in rows if r.blast_id]
            self._pause({r.blast_id for r in blast_rows}, self.problem)
            result.released += blast_rows
            _refund(len(blast_rows), self.meter)  # metered when claimed; they will be again
            result.failed += [(r, self.problem) for r in rows if not r.blast_id]
            return
        people = {
            p.pk: p
            for p in Person.objects.filter(pk__in=[r.person_id for r in rows if r.person_id]).only(
                *PERSON_FIELDS, self.consent_field, "is_erased", "phone"
            )
        }
        now = telephony.now()
        for row in rows:
            person = people.get(row.person_id) if row.person_id else None
            if row.person_id and (person is None or person.is_erased):
                result.skipped.append((row, _("person erased")))
                continue
            if person is not None and getattr(person, self.consent_field) != Consent.GRANTED:
                result.skipped.append((row, _("consent withdrawn since the blast started")))
                continue
            region = (person.country if person else "") or self.nation.country or "FR"
            number, why = self.check_number(row.address, region)
            if not number:
                result.skipped.append((row, why))
                continue
            until = telephony.quiet_until(
                number,
                now=now,
                start=self.account.quiet_start,
                end=self.account.quiet_end,
                fallback=self.nation.timezone or "UTC",
            )
            if until is not None:
                result.deferred.append((row, until))
                continue
            self.send_one(row, number, person, result, journal)

    def check_number(self, address: str, region: str) -> tuple[str, str]:
        return telephony.mobile_number(address, region=region)

    def _hand_over(self, row: Claimed, result: BatchResult, journal, create) -> None:
        journal(row.id)
        try:
            sid = create()
        except TwilioRestException as error:
            if error.status == 429 or error.status >= 500:
                result.retry.append((row, f"Twilio {error.status}: {error.msg}"[:300]))
            else:
                result.failed.append((row, f"Twilio {error.code}: {error.msg}"[:300]))
            return
        except requests.ConnectTimeout as error:  # never reached Twilio
            result.retry.append((row, f"connection: {error}"[:300]))
            result.connection_errors += 1
            return
        except requests.Timeout:  # the request left: Twilio may have queued it
            result.failed.append(
                (row, _("Twilio did not answer in time; not sent again so nobody gets it twice"))
            )
            return
        except requests.ConnectionError as error:
            result.retry.append((row, f"connection: {error}"[:300]))
            result.connection_errors += 1
            return
        result.sent.append(row)
        result.provider_ids[row.id] = sid

    def send_one(self, row, number, person, result, journal) -> None:
        blast = self.blast(row.blast_id) if row.blast_id else None
        if blast is not None:
            template = self.templates[blast.pk]
            if isinstance(template, MergeError):
                result.failed.append((row, str(template)))
                return
            try:
                body = template.render(person or Person())
            except MergeError as error:
                result.failed.append((row, str(error)))
                return
        else:
            body = (row.payload or {}).get("body", "")
        try:
            telephony.check_size(body)
        except telephony.TelephonyError as error:
            result.failed.append((row, str(error)))
            return
        sender = self.sender(blast, row.payload)
        if not sender:
            result.failed.append((row, _("No sender number: add one in the SMS settings.")))
            return
        self._hand_over(
            row,
            result,
            journal,
            lambda: (
                self.client.messages.create(
                    to=number,
                    from_=sender,
                    body=body,
                    status_callback=self.base_url + SMS_STATUS_PATH,
                ).sid
            ),
        )

    def close(self) -> None:
        pass


class SmsHandler(PhoneHandler):
    pass


class VoiceHandler(PhoneHandler):
    channel = "voice"
    feature = "voice"
    consent_field = "phone_consent"
    timeline_kind = None  # the call's outcome goes on the timeline when Twilio reports it
    meter = None  # the plan's "voice" feature gates it; calls are billed by the account

    def check_number(self, address: str, region: str) -> tuple[str, str]:
        return telephony.callable_number(address, region=region)

    def send_one(self, row, number, person, result, journal) -> None:
        from .tokens import make_token

        blast = self.blast(row.blast_id) if row.blast_id else None
        if blast is None:
            result.failed.append((row, _("A call needs a voice broadcast.")))
            return
        sender = self.sender(blast, None)
        if not sender or not sender.startswith("+"):
            result.failed.append((row, _("Calls need a phone number as sender.")))
            return
        token = make_token(self.nation.schema_name, row.id)
        self._hand_over(
            row,
            result,
            journal,
            lambda: (
                self.client.calls.create(
                    to=number,
                    from_=sender,
                    url=self.base_url + call_path(token),
                    status_callback=self.base_url + CALL_STATUS_PATH,
                    status_callback_event=["completed"],
                    machine_detection="DetectMessageEnd",
                ).sid
            ),
        )
