"""The nation's custom fields (People → Custom fields): text, number, date or choice."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nations.panel.access import staff_required

from .. import actions
from ..models import CustomField
from ..profile_forms import CustomFieldForm


@staff_required("settings.manage")
def custom_fields(request: HttpRequest) -> HttpResponse:
    form = CustomFieldForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        field = actions.custom_field_save(
            label=form.cleaned_data["label"],
            kind=form.cleaned_data["kind"],
            choices=form.cleaned_data["choices"],
        )
        messages.success(request, _("The field “%(label)s” was added.") % {"label": field.label})
        return redirect("panel:people:custom_fields")
    return render(
        request,
        "people/custom_fields.html",
        {
            "fields": CustomField.objects.all(),
            "form": form,
            "section": "people",
        },
        status=400 if form.errors else 200,
    )


@staff_required("settings.manage")
def custom_field_edit(request: HttpRequest, field_id: int) -> HttpResponse:
    field = get_object_or_404(CustomField, pk=field_id)
    form = CustomFieldForm(request.POST if request.method == "POST" else None, instance=field)
    if request.method == "POST" and form.is_valid():
        actions.custom_field_save(
            field=field,
            label=form.cleaned_data["label"],
            kind=form.cleaned_data["kind"],
            choices=form.cleaned_data["choices"],
        )
        messages.success(request, _("Changes saved."))
        return redirect("panel:people:custom_fields")
    return render(
        request,
        "people/custom_field_edit.html",
        {"field": field, "form": form, "section": "people"},
        status=400 if form.errors else 200,
    )


@require_POST
@staff_required("settings.manage")
def custom_field_delete(request: HttpRequest, field_id: int) -> HttpResponse:
    field = get_object_or_404(CustomField, pk=field_id)
    label = field.label
    actions.custom_field_delete(field=field)
    messages.success(
        request, _("The field “%(label)s” and its values were deleted.") % {"label": label}
    )
    return redirect("panel:people:custom_fields")
