"""Who a blast goes to: its segment or list (or everyone), minus whoever must not get it."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils.translation import gettext as _

from nations.people.filters import FilterError, segment_people
from nations.people.models import Consent, Person, PersonEmail, PersonPhone

from .models import Blast

SUPPRESSED = (PersonEmail.Status.BOUNCED, PersonEmail.Status.COMPLAINED)


def audience_people(blast: Blast) -> QuerySet[Person]:
    """Everyone the blast's audience names (before consent and suppression). FilterError if the
    segment or list is gone or its definition no longer compiles."""
    base = Person.objects.filter(is_erased=False)
    if blast.audience == Blast.Audience.EVERYONE:
        return base
    if blast.audience == Blast.Audience.LIST:
        if blast.people_list_id is None:
            raise FilterError(_("Pick a list."))
        return base.filter(list_memberships__people_list_id=blast.people_list_id)
    if blast.segment is None:
        raise FilterError(_("Pick a segment."))
    return segment_people(blast.segment, base)


def suppressed_address():
    return Exists(PersonEmail.objects.filter(address=OuterRef("email"), status__in=SUPPRESSED))


def reachable(people: QuerySet[Person]) -> QuerySet[Person]:
    """Those of `people` an email may go to: an address, consent granted, never bounced hard or
    complained. Unsubscribed people have consent withdrawn, so they are out too."""
    return (
        people.exclude(email="")
        .filter(email_consent=Consent.GRANTED)
        .exclude(suppressed_address())
        .order_by()
    )


def audience_summary(blast: Blast) -> dict[str, int]:
    """Recipients and why the others are left out, in three counts."""
    people = audience_people(blast).order_by()
    total = people.count()
    recipients = reachable(people).count()
    no_consent = people.exclude(email="").exclude(email_consent=Consent.GRANTED).count()
    return {
        "audience": total,
        "recipients": recipients,
        "no_consent": no_consent,
        "excluded": total - recipients,
    }


# --- SMS and voice: a phone number and the channel's consent -----------------------------------
PHONE_CONSENT = {"sms": "sms_consent", "voice": "phone_consent"}


def reachable_by_phone(people: QuerySet[Person], channel: str) -> QuerySet[Person]:
    """Those of `people` a text (sms_consent) or a call (phone_consent) may go to. Numbers are
    checked again when sent (a landline or an invalid number is skipped with the reason)."""
    return people.exclude(phone="").filter(**{PHONE_CONSENT[channel]: Consent.GRANTED}).order_by()


def recipients(blast: Blast) -> QuerySet:
    """(person id, address) of everyone the blast goes to, for the snapshot."""
    people = audience_people(blast)
    if blast.channel in PHONE_CONSENT:
        people = reachable_by_phone(people, blast.channel).annotate(address=F("phone"))
    else:
        people = reachable(people).annotate(address=F("email"))
    return people.values_list("id", "address")


def phone_audience_summary(blast: Blast) -> dict[str, int]:
    people = audience_people(blast).order_by()
    field = PHONE_CONSENT[blast.channel]
    total = people.count()
    reached = reachable_by_phone(people, blast.channel)
    landlines = 0
    if blast.channel == "sms":
        landlines = reached.filter(
            Exists(
                PersonPhone.objects.filter(
                    person=OuterRef("pk"), number=OuterRef("phone"), kind="landline"
                )
            )
        ).count()
    recipients_n = reached.count() - landlines
    return {
        "audience": total,
        "recipients": recipients_n,
        "no_consent": people.exclude(phone="").exclude(**{field: Consent.GRANTED}).count(),
        "no_phone": people.filter(phone="").count(),
        "landlines": landlines,
        "excluded": total - recipients_n,
    }
