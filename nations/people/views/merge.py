"""Duplicates and merging two people, in the control panel."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from nations.panel.access import staff_required

from .. import actions
from ..duplicates import duplicate_pairs
from ..models import Consent, Person
from ..selectors import people_search
from .profile import actor_for

COMPARED_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "phone",
    "address1",
    "address2",
    "postal_code",
    "city",
    "region",
    "country",
    "birthdate",
    "language",
    "employer",
    "occupation",
    "support_level",
    "external_id",
)


@staff_required("people.view")
def duplicates(request: HttpRequest) -> HttpResponse:
    try:
        before = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    page = duplicate_pairs(before=before)
    return render(
        request,
        "people/person_duplicates.html",
        {"page": page, "before": before, "section": "people"},
    )


@require_http_methods(["POST"])
@staff_required("people.edit")
def duplicate_dismiss(request: HttpRequest, person_id: int, other_id: int) -> HttpResponse:
    """ "Not a duplicate": the pair leaves the duplicates list for good."""
    person = get_object_or_404(Person, pk=person_id)
    other = get_object_or_404(Person, pk=other_id)
    if person.pk == other.pk:
        messages.error(request, _("Pick two different people."))
    else:
        actions.duplicate_dismiss(person=person, other=other, actor=actor_for(request))
        messages.success(
            request,
            _("%(person)s and %(other)s will no longer be proposed as duplicates.")
            % {"person": person, "other": other},
        )
    target = reverse("panel:people:duplicates")
    before = request.POST.get("before", "")
    if before.isdigit():
        target += f"?before={before}"
    return redirect(target)


def _related_label(model) -> str:
    labels = {
        "people.activity": _("timeline entries"),
        "people.personemail": _("emails"),
        "people.personphone": _("phones"),
        "people.tagging": _("tags"),
        "people.listmembership": _("lists"),
        "people.note": _("notes"),
        "people.contactlog": _("contact log"),
        "people.consentchange": _("consent history"),
        "people.merge": _("earlier merges"),
        "people.person": _("recruits"),
    }
    return str(labels.get(model._meta.label_lower, model._meta.verbose_name_plural))


def _related_counts(person: Person) -> dict[str, int]:
    """Rows of every table pointing at the person (later apps' tables included)."""
    counts: dict[str, int] = {}
    for rel in actions._person_relations():
        model = rel.related_model
        n = model._base_manager.filter(**{rel.field.name: person.pk}).count()
        if n:
            label = _related_label(model)
            counts[label] = counts.get(label, 0) + n
    return counts


@staff_required("people.edit")
def merge_pick(request: HttpRequest, person_id: int) -> HttpResponse:
    """Find the person to merge into this one."""
    person = get_object_or_404(Person, pk=person_id, is_erased=False)
    query = request.GET.get("q", "").strip()[:200]
    results = []
    if query:
        results = list(
            people_search(query, Person.objects.filter(is_erased=False).exclude(pk=person.pk))[:20]
        )
    return render(
        request,
        "people/person_merge_pick.html",
        {"person": person, "query": query, "results": results, "section": "people"},
    )


@require_http_methods(["GET", "POST"])
@staff_required("people.edit")
def merge_preview(request: HttpRequest, person_id: int, other_id: int) -> HttpResponse:
    """Both people side by side and what the merged person keeps; POST merges."""
    survivor = get_object_or_404(Person, pk=person_id, is_erased=False)
    other = get_object_or_404(Person, pk=other_id, is_erased=False)
    if survivor.pk == other.pk:
        messages.error(request, _("Pick two different people."))
        return redirect("panel:people:detail", survivor.pk)
    if request.method == "POST":
        actions.person_merge(survivor=survivor, other=other, actor=actor_for(request))
        messages.success(
            request,
            _("%(other)s was merged into %(survivor)s.") % {"other": other, "survivor": survivor},
        )
        return redirect("panel:people:detail", survivor.pk)
    rows = []
    for name in COMPARED_FIELDS:
        mine, theirs = getattr(survivor, name), getattr(other, name)
        keeps = mine if mine not in (None, "") else theirs
        rows.append(
            {
                "label": Person._meta.get_field(name).verbose_name,
                "survivor": mine,
                "other": theirs,
                "result": keeps,
                "from_other": mine in (None, "") and theirs not in (None, ""),
                "differs": mine not in (None, "") and theirs not in (None, "") and mine != theirs,
            }
        )
    consents = []
    for channel, field in actions.CONSENT_FIELD.items():
        mine, theirs = getattr(survivor, field), getattr(other, field)
        keeps = max((mine, theirs), key=lambda s: actions.CONSENT_RANK.get(s, 0))
        consents.append(
            {
                "label": channel.label,
                "survivor": Consent(mine).label,
                "other": Consent(theirs).label,
                "result": Consent(keeps).label,
                "from_other": keeps != mine,
            }
        )
    survivor_counts, other_counts = _related_counts(survivor), _related_counts(other)
    related = [
        {
            "label": label,
            "survivor": survivor_counts.get(label, 0),
            "other": other_counts.get(label, 0),
        }
        for label in sorted(set(survivor_counts) | set(other_counts))
    ]
    return render(
        request,
        "people/person_merge.html",
        {
            "survivor": survivor,
            "other": other,
            "rows": rows,
            "consents": consents,
            "related": related,
            "points": survivor.points + other.points,
            "section": "people",
        },
    )
