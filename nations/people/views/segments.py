"""Segments (the filter builder), static lists and bulk actions in the control panel."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.tasks import enqueue
from nations.jobs.actions import job_create
from nations.panel.access import can, staff_required

from ..actions import Actor, list_add, list_remove
from ..builder import Choices, new_definition, parse_form, render_tree
from ..filters import FilterError, segment_count, segment_people, source_people
from ..models import PeopleList, Person, Segment, Tag
from ..tasks import bulk_apply

PREVIEW_SIZE = 50


def _actor(request) -> Actor:
    return Actor(user_id=request.user.pk, name=request.user.get_short_name())


# Segments ---------------------------------------------------------------------------------


@staff_required("people.view")
def segment_list(request):
    segments = list(Segment.objects.all())
    for segment in segments:
        try:
            segment.count = segment_count(segment)
        except FilterError:
            segment.count = None
    return render(
        request,
        "people/segment_list.html",
        {"segments": segments, "section": "people", "tab": "segments"},
    )


@staff_required("people.view")
def segment_edit(request, segment_id: int | None = None):
    segment = get_object_or_404(Segment, pk=segment_id) if segment_id else None
    name = segment.name if segment else ""
    definition = segment.definition if segment and segment.definition else new_definition()
    error = ""
    if request.method == "POST":
        if not can(request, "people.edit"):
            return render(request, "panel/forbidden.html", status=403)
        name = " ".join(request.POST.get("name", "").split())[:150]
        definition = parse_form(request.POST)
        try:
            segment_people(definition)  # compiles: raises FilterError for a bad definition
            if not name:
                raise FilterError(_("Give the segment a name."))
            with transaction.atomic():
                if segment is None:
                    segment = Segment(created_by_id=request.user.pk)
                segment.name = name
                segment.definition = definition
                segment.updated_at = timezone.now()
                segment.save()
        except FilterError as exc:
            error = str(exc)
        except IntegrityError:
            error = _("A segment with this name already exists.")
            segment = Segment.objects.filter(pk=segment_id).first() if segment_id else None
        else:
            messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment.name})
            return redirect("panel:people:segment", segment.pk)
    choices = Choices()
    return render(
        request,
        "people/segment_edit.html",
        {
            "segment": segment,
            "name": name,
            "tree": render_tree(definition, choices),
            "choices": choices,
            "results": _results(definition),
            "error": error,
            "section": "people",
            "tab": "segments",
        },
        status=400 if error else 200,
    )


@staff_required("people.view")
@require_POST
def segment_builder(request):
    """The builder again, after a structural change (a condition added, removed or re-typed),
    with the count and people refreshed alongside (out of band)."""
    definition = parse_form(request.POST, request.POST.get("action", ""))
    choices = Choices()
    return render(
        request,
        "people/_segment_builder.html",
        {
            "tree": render_tree(definition, choices),
            "choices": choices,
            "results": _results(definition),
            "oob": True,
        },
    )


@staff_required("people.view")
@require_POST
def segment_preview(request):
    """The live count and the first people, for what is in the builder right now."""
    definition = parse_form(request.POST)
    return render(request, "people/_segment_results.html", {"results": _results(definition)})


def _results(definition: dict) -> dict:
    try:
        people = segment_people(definition)
        count = people.order_by().count()
        first = list(
            people.only(
                "id", "first_name", "middle_name", "last_name", "email", "city", "postal_code"
            ).order_by("-created_at", "-id")[:PREVIEW_SIZE]
        )
    except FilterError as exc:
        return {"error": str(exc)}
    return {"count": count, "people": first, "more": max(0, count - len(first))}


@staff_required("people.edit")
@require_POST
def segment_delete(request, segment_id: int):
    segment = get_object_or_404(Segment, pk=segment_id)
    segment.delete()
    messages.success(request, _("Segment “%(name)s” deleted.") % {"name": segment.name})
    return redirect("panel:people:segments")


# Static lists -----------------------------------------------------------------------------


@staff_required("people.view")
def list_index(request):
    lists = PeopleList.objects.annotate(size=Count("memberships")).order_by("name")
    return render(
        request, "people/list_index.html", {"lists": lists, "section": "people", "tab": "lists"}
    )


@staff_required("people.edit")
def list_edit(request, list_id: int | None = None):
    people_list = get_object_or_404(PeopleList, pk=list_id) if list_id else None
    name = people_list.name if people_list else ""
    description = people_list.description if people_list else ""
    error = ""
    if request.method == "POST":
        name = " ".join(request.POST.get("name", "").split())[:150]
        description = request.POST.get("description", "").strip()
        if not name:
            error = _("Give the list a name.")
        else:
            try:
                with transaction.atomic():
                    target = people_list or PeopleList()
                    target.name, target.description = name, description
                    target.save()
            except IntegrityError:
                error = _("A list with this name already exists.")
            else:
                messages.success(request, _("List “%(name)s” saved.") % {"name": name})
                return redirect("panel:people:list_detail", target.pk)
    return render(
        request,
        "people/list_edit.html",
        {
            "people_list": people_list,
            "name": name,
            "description": description,
            "error": error,
            "section": "people",
            "tab": "lists",
        },
        status=400 if error else 200,
    )


@staff_required("people.view")
def list_detail(request, list_id: int):
    people_list = get_object_or_404(PeopleList, pk=list_id)
    members = Person.objects.filter(
        is_erased=False, list_memberships__people_list=people_list
    ).order_by("-list_memberships__created_at", "-id")
    page = Paginator(members, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "people/list_detail.html",
        {"people_list": people_list, "page": page, "section": "people", "tab": "lists"},
    )


@staff_required("people.edit")
@require_POST
def list_delete(request, list_id: int):
    people_list = get_object_or_404(PeopleList, pk=list_id)
    people_list.delete()
    messages.success(request, _("List “%(name)s” deleted.") % {"name": people_list.name})
    return redirect("panel:people:lists")


@staff_required("people.edit")
@require_POST
def list_member_remove(request, list_id: int):
    people_list = get_object_or_404(PeopleList, pk=list_id)
    person_id = request.POST.get("person", "")
    person = get_object_or_404(Person, pk=int(person_id) if person_id.isdigit() else 0)
    list_remove(people_list=people_list, person=person, actor=_actor(request))
    messages.success(
        request,
        _("%(person)s was removed from the list.") % {"person": person.full_name or person.email},
    )
    return redirect("panel:people:list_detail", people_list.pk)


@staff_required("people.view")
def person_lists(request, person_id: int):
    """A person's lists with "add to list" and "remove" (the profile loads it with htmx).

    POST action=add with list=<id> or new_list=<name>; action=remove with list=<id>."""
    person = get_object_or_404(Person, pk=person_id)
    error = ""
    if request.method == "POST":
        if not can(request, "people.edit"):
            return render(request, "panel/forbidden.html", status=403)
        action = request.POST.get("action", "add")
        new_name = " ".join(request.POST.get("new_list", "").split())[:150]
        people_list = None
        if new_name:
            people_list, _created = PeopleList.objects.get_or_create(name=new_name)
        elif request.POST.get("list", "").isdigit():
            people_list = PeopleList.objects.filter(pk=request.POST["list"]).first()
        if people_list is None:
            error = _("Pick a list or type the name of a new one.")
        elif action == "remove":
            list_remove(people_list=people_list, person=person, actor=_actor(request))
        else:
            list_add(people_list=people_list, person=person, actor=_actor(request))
        if not request.htmx and not error:
            return redirect("panel:people:detail", person.pk)
    member_of = PeopleList.objects.filter(memberships__person=person).order_by("name")
    others = PeopleList.objects.exclude(pk__in=member_of.values("pk")).order_by("name")
    return render(
        request,
        "people/_list_picker.html",
        {
            "person": person,
            "member_of": member_of,
            "others": others,
            "error": error,
            "can_edit": can(request, "people.edit"),
        },
        status=400 if error else 200,
    )


# Bulk actions -----------------------------------------------------------------------------


def _bulk_source(request) -> tuple[dict, str, str]:
    """(source for people.tasks.bulk_apply, its description, where to go back to)."""
    data = request.POST if request.method == "POST" else request.GET
    if data.get("segment", "").isdigit():
        segment = get_object_or_404(Segment, pk=data["segment"])
        return (
            {"definition": segment.definition},
            _("segment “%(name)s”") % {"name": segment.name},
            reverse("panel:people:segment", args=[segment.pk]),
        )
    if data.get("list", "").isdigit():
        people_list = get_object_or_404(PeopleList, pk=data["list"])
        return (
            {"list": people_list.pk},
            _("list “%(name)s”") % {"name": people_list.name},
            reverse("panel:people:list_detail", args=[people_list.pk]),
        )
    ids = [int(i) for i in data.getlist("person") if i.isdigit()][:10000]
    return {"people": ids}, _("the selected people"), reverse("panel:people:list")


@staff_required("people.edit")
def bulk_action(request):
    """Tag, untag, add to or remove from a list a whole segment, list or selection — in the
    background, with a progress bar (people.tasks.bulk_apply)."""
    source, described, back = _bulk_source(request)
    count = source_people(source).order_by().count()
    error = ""
    action = request.POST.get("action", "")
    if request.method == "POST" and action:
        target: str | int = ""
        title = ""
        if action in ("tag", "untag"):
            target = " ".join(request.POST.get("tag", "").split())[:100]
            if not target:
                error = _("Type the tag.")
            elif action == "tag":
                title = _("Tag %(what)s with “%(tag)s”") % {"what": described, "tag": target}
            else:
                title = _("Remove the tag “%(tag)s” from %(what)s") % {
                    "what": described,
                    "tag": target,
                }
        elif action in ("list", "unlist"):
            list_id = request.POST.get("target_list", "")
            people_list = PeopleList.objects.filter(
                pk=int(list_id) if list_id.isdigit() else 0
            ).first()
            if people_list is None:
                error = _("Pick a list.")
            else:
                target = people_list.pk
                template = (
                    _("Add %(what)s to the list “%(list)s”")
                    if action == "list"
                    else _("Remove %(what)s from the list “%(list)s”")
                )
                title = template % {"what": described, "list": people_list.name}
        else:
            error = _("Pick what to do.")
        if not count and not error:
            error = _("Nobody to change: this selection is empty.")
        if not error:
            job = job_create(
                kind=f"people.bulk_{action}",
                title=title,
                created_by_id=request.user.pk,
                total=count,
            )
            enqueue(
                bulk_apply,
                job.pk,
                source,
                action,
                target,
                request.user.pk,
                request.user.get_short_name(),
            )
            return redirect("panel:jobs:detail", job.pk)
    return render(
        request,
        "people/segment_bulk.html",
        {
            "source": source,
            "described": described,
            "back": back,
            "count": count,
            "error": error,
            "action": action,
            "tags": Tag.objects.order_by("name").values_list("name", flat=True)[:500],
            "lists": PeopleList.objects.order_by("name"),
            "data": request.POST if request.method == "POST" else request.GET,
            "section": "people",
        },
        status=400 if error else 200,
    )
