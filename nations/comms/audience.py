"""Who a blast goes to: its segment or list (or everyone), minus whoever must not get it."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from nations.people.filters import FilterError, segment_people
from nations.people.models import Consent, Person, PersonEmail

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
