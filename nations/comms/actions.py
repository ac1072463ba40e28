"""Every write of the Communication area: broadcasters, blasts and their lifecycle, transactional
messages, and what recipients do (opens, clicks, unsubscribes, bounces, complaints)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from nations.people.actions import SYSTEM, Actor, activity_record, consent_set
from nations.people.filters import FilterError
from nations.people.models import Activity, Channel, Consent, Person, PersonEmail
from nations.site.sanitise import clean_html

from .audience import audience_people
from .models import Blast, Broadcaster, Delivery, DeliveryEvent, SendingBackend
from .render import BlastTemplate, MergeError, number_links, one_line

log = logging.getLogger(__name__)


class BlastError(ValueError):
    """A blast cannot be sent as it is; the message says why, for staff."""


# --- broadcasters ------------------------------------------------------------------------------
def broadcaster_save(*, broadcaster: Broadcaster | None = None, **fields) -> Broadcaster:
    from .dkim import generate_key

    broadcaster = broadcaster or Broadcaster()
    for name, value in fields.items():
        setattr(broadcaster, name, value)
    broadcaster.name = one_line(broadcaster.name)
    validate_email(broadcaster.from_email)
    if not broadcaster.dkim_private_key:
        broadcaster.dkim_private_key, broadcaster.dkim_public_key = generate_key()
    broadcaster.save()
    return broadcaster


def broadcaster_check_domain(*, broadcaster: Broadcaster) -> Broadcaster:
    """Look the sender's SPF, DKIM and DMARC records up now and keep the result; the domain is
    verified while SPF and DKIM are right (checking again can un-verify it)."""
    from .domain import check

    result = check(broadcaster)
    broadcaster.dns_status = result
    broadcaster.domain_verified_at = (
        (broadcaster.domain_verified_at or timezone.now()) if result["verified"] else None
    )
    problems = [r["purpose"] for r in result["records"] if r["status"] != "ok"]
    broadcaster.domain_check_error = ", ".join(problems)[:300]
    broadcaster.save(update_fields=["dns_status", "domain_verified_at", "domain_check_error"])
    return broadcaster


# --- the nation's own sending backend ----------------------------------------------------------
class BackendError(ValueError):
    """The nation's sending backend cannot be used as entered; the message says why."""


def _refuse_private_host(host: str) -> None:
    """A nation's relay must be on the internet: not the platform's own network (SSRF)."""
    import ipaddress
    import socket

    if settings.COMMS_NATION_RELAY_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as error:
        raise BackendError(_("The host %(host)s was not found.") % {"host": host}) from error
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise BackendError(
                _("%(host)s is a private address; use your relay's public host name.")
                % {"host": host}
            )


def sending_backend_save(*, verify: bool = True, **fields) -> SendingBackend:
    """Save the nation's way of sending. Secrets left empty keep their stored value. An SMTP
    relay is tried (connect, STARTTLS, login) before it is saved: a wrong one is refused with
    the server's answer, and the old setting stays."""
    import smtplib

    from .smtp import Relay, SmtpSender

    own = SendingBackend.objects.filter(pk=1).first() or SendingBackend(pk=1)
    for name, value in fields.items():
        if name in ("smtp_password", "esp_api_key") and not value:
            continue
        setattr(own, name, value)
    if own.kind == SendingBackend.Kind.SMTP:
        own.smtp_host = own.smtp_host.strip()
        if not own.smtp_host:
            raise BackendError(_("Enter your SMTP relay's host name."))
        _refuse_private_host(own.smtp_host)
        if verify:
            sender = SmtpSender(
                Relay(
                    host=own.smtp_host,
                    port=own.smtp_port,
                    username=own.smtp_username,
                    password=own.smtp_password,
                    use_tls=own.smtp_security == "starttls",
                    use_ssl=own.smtp_security == "ssl",
                )
            )
            try:
                sender.open()
            except (OSError, smtplib.SMTPException) as error:
                raise BackendError(
                    _("Your SMTP relay did not accept the connection: %(error)s")
                    % {"error": str(error)[:200]}
                ) from error
            sender.close()
    elif own.kind == SendingBackend.Kind.ESP:
        if not own.esp:
            raise BackendError(_("Pick your email service provider."))
        if not own.esp_api_key:
            raise BackendError(_("Enter the API key of your provider account."))
    own.updated_at = timezone.now()
    own.save()
    return own


# --- blasts ------------------------------------------------------------------------------------
def blast_save(*, blast: Blast | None = None, actor: Actor = SYSTEM, **fields) -> Blast:
    """Create or edit a draft (or scheduled) blast. The body is sanitised here."""
    blast = blast or Blast(created_by_id=actor.user_id, created_by_name=actor.name)
    if blast.pk and not blast.is_editable:
        raise BlastError(_("This email is already being sent; it can no longer be edited."))
    for name, value in fields.items():
        setattr(blast, name, value)
    blast.subject = one_line(blast.subject)
    blast.subject_b = one_line(blast.subject_b)
    blast.ab_percent = min(max(int(blast.ab_percent or 0), 0), 50)
    blast.preheader = one_line(blast.preheader)
    blast.body_html = clean_html(blast.body_html)
    blast.updated_at = timezone.now()
    blast.save()
    return blast


def blast_check(blast: Blast, nation) -> BlastTemplate | None:
    """Raise BlastError unless the blast can be sent: a sender, a subject, a body that renders."""
    if blast.channel in ("sms", "voice"):
        from .phone import phone_blast_check

        phone_blast_check(blast, nation)
        return None
    if blast.broadcaster_id is None:
        raise BlastError(_("Pick who the email is from (add a sender first)."))
    if not blast.subject.strip():
        raise BlastError(_("The subject is empty."))
    if not blast.body_html.strip():
        raise BlastError(_("The message is empty."))
    try:
        audience_people(blast)
    except FilterError as error:
        raise BlastError(str(error)) from error
    try:
        template = BlastTemplate(blast, nation, base_url="")
        sample = Person(first_name="Ada", last_name="Lovelace", email="ada@example.org")
        template.render(sample, delivery_id=None)
        if blast.is_ab:
            template.render(sample, delivery_id=None, variant="b")
    except MergeError as error:
        raise BlastError(str(error)) from error
    return template


def blast_send(*, blast: Blast, nation, at: datetime | None = None) -> Blast:
    """Send now (snapshot the audience, then deliver) or schedule for `at`. Idempotent: only a
    draft or scheduled blast starts; a second click does nothing."""
    blast_check(blast, nation)
    _body, links = number_links(blast.body_html)
    if at is not None and at > timezone.now():
        Blast.objects.filter(
            pk=blast.pk, status__in=(Blast.Status.DRAFT, Blast.Status.SCHEDULED)
        ).update(status=Blast.Status.SCHEDULED, scheduled_at=at, links=links, status_message="")
    else:
        changed = Blast.objects.filter(
            pk=blast.pk, status__in=(Blast.Status.DRAFT, Blast.Status.SCHEDULED)
        ).update(
            status=Blast.Status.PREPARING, links=links, status_message="", started_at=timezone.now()
        )
        if changed:
            from .tasks import send_on_commit, snapshot_blast

            send_on_commit(snapshot_blast, blast.pk)
    blast.refresh_from_db()
    return blast


def blast_unschedule(*, blast: Blast) -> None:
    Blast.objects.filter(pk=blast.pk, status=Blast.Status.SCHEDULED).update(
        status=Blast.Status.DRAFT, scheduled_at=None
    )


def blasts_launch_due() -> int:
    """Start scheduled blasts whose time has come (beat, every minute)."""
    from .tasks import send_on_commit, snapshot_blast

    due = list(
        Blast.objects.filter(
            status=Blast.Status.SCHEDULED, scheduled_at__lte=timezone.now()
        ).values_list("pk", flat=True)
    )
    started = 0
    for pk in due:
        if Blast.objects.filter(pk=pk, status=Blast.Status.SCHEDULED).update(
            status=Blast.Status.PREPARING
        ):
            send_on_commit(snapshot_blast, pk)
            started += 1
    return started


def blast_pause(*, blast: Blast) -> bool:
    return bool(
        Blast.objects.filter(pk=blast.pk, status=Blast.Status.SENDING).update(
            status=Blast.Status.PAUSED, status_message=_("Paused by staff.")
        )
    )


def blast_resume(*, blast: Blast) -> bool:
    changed = Blast.objects.filter(pk=blast.pk, status=Blast.Status.PAUSED).update(
        status=Blast.Status.SENDING, status_message=""
    )
    if changed:
        from .tasks import start_pumps

        start_pumps(blast.channel)
    return bool(changed)


def blast_cancel(*, blast: Blast) -> int:
    """Stop a blast for good: queued messages are never sent (those in flight finish)."""
    with transaction.atomic():
        changed = Blast.objects.filter(
            pk=blast.pk,
            status__in=(
                Blast.Status.PREPARING,
                Blast.Status.SENDING,
                Blast.Status.PAUSED,
                Blast.Status.SCHEDULED,
            ),
        ).update(status=Blast.Status.CANCELLED, finished_at=timezone.now(), status_message="")
        if not changed:
            return 0
        cancelled = Delivery.objects.filter(
            blast=blast, status__in=(Delivery.Status.QUEUED, Delivery.Status.HELD)
        ).update(status=Delivery.Status.CANCELLED)
        from django.db.models import F

        Blast.objects.filter(pk=blast.pk).update(skipped_count=F("skipped_count") + cancelled)
    return cancelled


def blast_test_send(*, blast: Blast, nation, to: str, person: Person | None = None) -> Delivery:
    """A test copy to a staff member, rendered as `person` (or a sample), through the pipeline."""
    template = blast_check(blast, nation)
    sample = person or Person(first_name=_("Ada"), last_name="Lovelace", email=to)
    rendered = template.render(sample, delivery_id=None)
    return transactional_send(
        to=to,
        subject=_("[Test] %(subject)s") % {"subject": rendered.subject},
        text=rendered.text,
        html=rendered.html,
        from_email=template.from_header,
        reply_to=template.reply_to,
        kind="test",
    )


# --- transactional -----------------------------------------------------------------------------
def transactional_send(
    *,
    to: str,
    subject: str,
    text: str,
    from_email: str,
    html: str = "",
    reply_to: str = "",
    person: Person | None = None,
    person_id: int | None = None,
    kind: str = "transactional",
) -> Delivery:
    """Queue one message (autoresponse, receipt, password reset) ahead of every blast. It is
    sent after the caller's transaction commits, through the same pipeline (rate limits,
    journal, reaper)."""
    from .tasks import start_pumps

    validate_email(to)
    delivery = Delivery.objects.create(
        channel="email",
        person_id=person.pk if person else person_id,
        address=to,
        priority=Delivery.PRIORITY_TRANSACTIONAL,
        kind=kind,
        payload={
            "subject": one_line(subject),
            "text": text,
            "html": html,
            "from": from_email,
            "reply_to": reply_to,
            "domain": from_email.rsplit("@", 1)[-1].strip(">") or settings.PLATFORM_DOMAIN,
        },
    )
    start_pumps("email", transactional=True)
    return delivery


def transactional_sms(
    *, to: str, body: str, person_id: int | None, kind: str = "transactional"
) -> Delivery | None:
    """Queue one text (an automation step, a confirmation) ahead of every SMS blast, sent after
    the caller's transaction commits through the same pipeline (quiet hours, rate, journal).

    Queues nothing and returns None when the person has not given SMS consent or `to` is not a
    valid mobile number. Raises telephony.TelephonyError for a text over 10 segments."""
    from .tasks import start_pumps
    from .telephony import check_size, mobile_number

    if person_id is not None:
        person = Person.objects.filter(pk=person_id, is_erased=False).only("sms_consent").first()
        if person is None or person.sms_consent != Consent.GRANTED:
            return None
    number, _why = mobile_number(to, region=getattr(connection.tenant, "country", "") or "FR")
    if not number:
        return None
    if (
        person_id is None
        and Person.objects.filter(phone=number)
        .exclude(sms_consent=Consent.GRANTED)
        .filter(sms_consent=Consent.WITHDRAWN)
        .exists()
    ):
        return None  # whoever owns this number asked for no texts
    check_size(body)
    delivery = Delivery.objects.create(
        channel="sms",
        blast=None,
        person_id=person_id,
        address=number,
        priority=Delivery.PRIORITY_TRANSACTIONAL,
        kind=kind,
        payload={"body": body},
    )
    start_pumps("sms", transactional=True)
    return delivery


# --- what recipients do ------------------------------------------------------------------------
def _event(delivery: Delivery, kind: str, *, link=None, detail="", provider_event_id=None) -> bool:
    """Record an event once per provider id; False if this provider event was seen already."""
    try:
        with transaction.atomic():
            DeliveryEvent.objects.create(
                delivery=delivery,
                blast_id=delivery.blast_id,
                kind=kind,
                link=link,
                detail=detail[:300],
                provider_event_id=provider_event_id,
            )
    except IntegrityError:
        return False
    return True


def _person(delivery: Delivery) -> Person | None:
    if delivery.person_id is None:
        return None
    return Person.objects.filter(pk=delivery.person_id, is_erased=False).first()


def _summary(delivery: Delivery) -> str:
    if delivery.blast_id:
        return (
            Blast.objects.filter(pk=delivery.blast_id).values_list("subject", flat=True).first()
            or ""
        )
    return (delivery.payload or {}).get("subject", "")


def delivery_opened(*, delivery: Delivery) -> None:
    """First open counts (and goes on the timeline); later ones change nothing."""
    if Delivery.objects.filter(pk=delivery.pk, opened_at__isnull=True).update(
        opened_at=timezone.now()
    ):
        _event(delivery, DeliveryEvent.Kind.OPENED)
        person = _person(delivery)
        if person is not None:
            activity_record(
                person=person,
                kind=Activity.Kind.EMAIL_OPENED,
                summary=_summary(delivery),
                data={"blast": delivery.blast_id, "delivery": delivery.pk},
            )


def delivery_clicked(*, delivery: Delivery, link: int, url: str) -> None:
    """A click also proves an open (images are often blocked). Each link counts once per
    recipient."""
    delivery_opened(delivery=delivery)
    if DeliveryEvent.objects.filter(
        delivery=delivery, kind=DeliveryEvent.Kind.CLICKED, link=link
    ).exists():
        return
    Delivery.objects.filter(pk=delivery.pk, clicked_at__isnull=True).update(
        clicked_at=timezone.now()
    )
    _event(delivery, DeliveryEvent.Kind.CLICKED, link=link, detail=url)
    person = _person(delivery)
    if person is not None:
        activity_record(
            person=person,
            kind=Activity.Kind.EMAIL_CLICKED,
            summary=url[:300],
            data={"blast": delivery.blast_id, "delivery": delivery.pk, "link": link},
        )


def unsubscribe(*, delivery: Delivery, source: str = "unsubscribe", provider_event_id=None) -> bool:
    """Withdraw the person's email consent now (a consent change on their record, and the
    timeline). Idempotent; returns whether anything changed."""
    person = _person(delivery)
    if person is None:
        return False
    with transaction.atomic():
        changed = consent_set(
            person=person,
            channel=Channel.EMAIL,
            status=Consent.WITHDRAWN,
            source=source,
            by_person=True,
            wording=_("Unsubscribed from “%(subject)s”") % {"subject": _summary(delivery)},
        )
        if changed:
            _event(
                delivery,
                DeliveryEvent.Kind.UNSUBSCRIBED,
                detail=source,
                provider_event_id=provider_event_id,
            )
            activity_record(
                person=person,
                kind=Activity.Kind.UNSUBSCRIBED,
                summary=_summary(delivery),
                data={"blast": delivery.blast_id, "delivery": delivery.pk, "source": source},
            )
    return changed


def resubscribe(*, delivery: Delivery) -> bool:
    person = _person(delivery)
    if person is None:
        return False
    return consent_set(
        person=person,
        channel=Channel.EMAIL,
        status=Consent.GRANTED,
        source="preferences",
        by_person=True,
        wording=_("Subscribed again from the email preferences page"),
    )


def suppress_address(*, address: str, status: str, person_id: int | None) -> None:
    """Stop future sends to an address: its PersonEmail rows take the bounced/complained status
    (a person whose primary email had no row gets one)."""
    address = address.strip().lower()
    rows = PersonEmail.objects.filter(address=address).exclude(status=PersonEmail.Status.COMPLAINED)
    updated = rows.update(status=status)
    if (
        not updated
        and person_id
        and not PersonEmail.objects.filter(address=address).exists()
        and Person.objects.filter(pk=person_id, email=address).exists()
    ):
        PersonEmail.objects.create(
            person_id=person_id, address=address, is_primary=True, status=status
        )


def delivery_bounced(
    *, delivery: Delivery, hard: bool, detail: str = "", provider_event_id=None
) -> bool:
    """A bounce report. Hard bounces stop future sends to the address; soft ones are noted."""
    kind = DeliveryEvent.Kind.BOUNCED if hard else DeliveryEvent.Kind.DEFERRED
    with transaction.atomic():
        if not _event(delivery, kind, detail=detail, provider_event_id=provider_event_id):
            return False
        if hard:
            suppress_address(
                address=delivery.address,
                status=PersonEmail.Status.BOUNCED,
                person_id=delivery.person_id,
            )
            person = _person(delivery)
            if person is not None:
                activity_record(
                    person=person,
                    kind=Activity.Kind.OTHER,
                    summary=_("Email to %(address)s bounced: %(detail)s")
                    % {"address": delivery.address, "detail": detail[:200]},
                    data={"blast": delivery.blast_id, "delivery": delivery.pk, "bounce": True},
                )
    return True


def delivery_complained(*, delivery: Delivery, detail: str = "", provider_event_id=None) -> bool:
    """A spam complaint: no more email to that address, and consent withdrawn."""
    with transaction.atomic():
        if not _event(
            delivery,
            DeliveryEvent.Kind.COMPLAINED,
            detail=detail,
            provider_event_id=provider_event_id,
        ):
            return False
        suppress_address(
            address=delivery.address,
            status=PersonEmail.Status.COMPLAINED,
            person_id=delivery.person_id,
        )
        unsubscribe(delivery=delivery, source="complaint")
    return True


def delivery_delivered(*, delivery: Delivery, provider_event_id=None) -> bool:
    return _event(delivery, DeliveryEvent.Kind.DELIVERED, provider_event_id=provider_event_id)


def deliveries_erase(*, person_id: int, addresses: set[str]) -> int:
    """GDPR erasure of a person's messages (any channel): each delivery row keeps its outcome
    for the reports (sent, opened, clicked, bounced) but loses the address, the rendered
    content of transactional messages and the error text; its events lose their detail.
    Called by people.actions.person_erase; idempotent. Returns the number of rows."""
    from django.db.models import Q

    rows = Delivery.objects.filter(
        Q(person_id=person_id) | Q(address__in={a for a in addresses if a})
    ).exclude(address__startswith="erased-")
    ids = list(rows.values_list("pk", flat=True))
    if not ids:
        return 0
    with connection.cursor() as cursor:
        # A unique placeholder per row: one blast holds each address once.
        cursor.execute(
            "UPDATE comms_delivery SET address = 'erased-' || id || '.invalid', payload = NULL,"
            " error = '' WHERE id = ANY(%s)",
            [ids],
        )
    DeliveryEvent.objects.filter(delivery_id__in=ids).update(detail="")
    return len(ids)


def schema_of_current() -> str:
    return connection.schema_name
