"""Channels plug into the pipeline: each renders its claimed rows and hands them to a backend.

A channel handler has `meter` (the billing metric), `subjects` (blast id -> timeline summary),
`send_batch(rows, result, journal)` and `close()`. Email is the first; SMS, voice and social add
theirs to HANDLERS."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from nations.people.models import Consent, Person, PersonEmail
from tenants.hosts import nation_url

from .audience import SUPPRESSED
from .channels_phone import SmsHandler, VoiceHandler
from .dkim import sign
from .models import Blast
from .pipeline import BatchResult, Claimed
from .render import PERSON_FIELDS, BlastTemplate, MergeError, Rendered, build_mime
from .smtp import Outcome, SmtpSender


@dataclass
class Outgoing:
    row: Claimed
    envelope_from: str
    rendered: Rendered
    from_header: str
    reply_to: str
    dkim: tuple[str, str, str] | None = None  # (selector, domain, private key)

    def raw(self) -> bytes:
        message = build_mime(
            rendered=self.rendered,
            from_header=self.from_header,
            to=self.row.address,
            message_id=self.row.message_id,
            reply_to=self.reply_to,
        )
        if self.dkim:
            selector, domain, key = self.dkim
            message = sign(message, selector=selector, domain=domain, private_key=key)
        return message


class DjangoBackendSender:
    """Any Django email backend: django-anymail's ESPs (SES, Mailgun, Postmark, Brevo…)."""

    def __init__(self, path: str, **options) -> None:
        self.connection = get_connection(path, **options)
        self.opened = False

    def send(self, out: Outgoing, before_commit) -> Outcome:
        message = EmailMultiAlternatives(
            subject=out.rendered.subject,
            body=out.rendered.text,
            from_email=out.from_header,
            to=[out.row.address],
            reply_to=[out.reply_to] if out.reply_to else None,
            headers={"Message-ID": out.row.message_id, **out.rendered.headers},
            connection=self.connection,
        )
        if out.rendered.html:
            message.attach_alternative(out.rendered.html, "text/html")
        # anymail passes metadata to the ESP and back in its tracking events (webhooks.py)
        message.metadata = {"nation": out.row.message_id.split(".")[1], "delivery": out.row.id}
        try:
            if not self.opened:
                self.connection.open()
                self.opened = True
            message.send()
        except Exception as error:  # an ESP's API error: try again later
            return Outcome("retry", str(error)[:300])
        before_commit()
        return Outcome("sent")

    def close(self) -> None:
        if self.opened:
            self.connection.close()
            self.opened = False


class EmailHandler:
    meter = "emails"

    def __init__(self, nation) -> None:
        self.nation = nation
        self.base_url = nation_url(nation).rstrip("/")
        self.templates: dict[int, BlastTemplate | MergeError] = {}
        self.subjects: dict[int, str] = {}
        from .backends import sender_for_nation

        self.backend = sender_for_nation()  # the platform's, or the nation's own relay/ESP

    def template(self, blast_id: int) -> BlastTemplate | MergeError:
        if blast_id not in self.templates:
            blast = Blast.objects.select_related("broadcaster").get(pk=blast_id)
            self.subjects[blast_id] = blast.subject
            try:
                self.templates[blast_id] = BlastTemplate(blast, self.nation, base_url=self.base_url)
            except MergeError as error:
                self.templates[blast_id] = error
        return self.templates[blast_id]

    def _pause(self, blast_id: int, error: Exception) -> None:
        Blast.objects.filter(pk=blast_id, status=Blast.Status.SENDING).update(
            status=Blast.Status.PAUSED, status_message=str(error)[:300]
        )

    def prepare(self, rows: list[Claimed], result: BatchResult) -> list[Outgoing]:
        blast_rows = [r for r in rows if r.blast_id]
        people = {
            p.pk: p
            for p in Person.objects.filter(pk__in=[r.person_id for r in blast_rows]).only(
                *PERSON_FIELDS, "email_consent", "is_erased"
            )
        }
        suppressed = set(
            PersonEmail.objects.filter(
                address__in={r.address for r in blast_rows}, status__in=SUPPRESSED
            ).values_list("address", flat=True)
        )
        out: list[Outgoing] = []
        for row in rows:
            if not row.blast_id:
                p = row.payload or {}
                rendered = Rendered(
                    subject=p.get("subject", ""), html=p.get("html", ""), text=p.get("text", "")
                )
                envelope = settings.COMMS_BOUNCE_ADDRESS or parseaddr(p.get("from", ""))[1]
                out.append(
                    Outgoing(row, envelope, rendered, p.get("from", ""), p.get("reply_to", ""))
                )
                continue
            template = self.template(row.blast_id)
            if not row.variant and getattr(template, "is_ab", False) and not template.winner:
                # The A/B winner was picked since this pump cached the blast: load it again.
                self.templates.pop(row.blast_id)
                template = self.template(row.blast_id)
            if isinstance(template, MergeError):
                self._pause(row.blast_id, template)
                result.released.append(row)
                continue
            person = people.get(row.person_id)
            if person is None or person.is_erased:
                result.skipped.append((row, "person deleted"))
                continue
            if person.email_consent != Consent.GRANTED:
                result.skipped.append((row, "no email consent (unsubscribed)"))
                continue
            if row.address in suppressed:
                result.skipped.append((row, "address bounced or complained"))
                continue
            try:
                rendered = template.render(person, delivery_id=row.id, variant=row.variant)
            except MergeError as error:
                result.failed.append((row, str(error)))
                continue
            out.append(
                Outgoing(
                    row,
                    template.envelope_from,
                    rendered,
                    template.from_header,
                    template.reply_to,
                    template.dkim,
                )
            )
        return out

    def send_batch(self, rows: list[Claimed], result: BatchResult, journal) -> None:
        for item in self.prepare(rows, result):
            row_id = item.row.id
            mark = functools.partial(journal, row_id)
            if isinstance(self.backend, SmtpSender):
                outcome = self.backend.send(item.envelope_from, item.row.address, item.raw(), mark)
            else:
                outcome = self.backend.send(item, mark)
            if outcome.status == "sent":
                result.sent.append(item.row)
            elif outcome.status == "failed":
                result.failed.append((item.row, outcome.detail))
            else:
                result.retry.append((item.row, outcome.detail))
                if outcome.detail.startswith("connection"):
                    result.connection_errors += 1

    def close(self) -> None:
        self.backend.close()


def _social(nation):
    from nations.social.channel import SocialHandler  # posts to X and Mastodon (nations/social)

    return SocialHandler(nation)


HANDLERS = {"email": EmailHandler, "sms": SmsHandler, "voice": VoiceHandler, "social": _social}


def handler_for(channel: str, nation):
    return HANDLERS[channel](nation)
