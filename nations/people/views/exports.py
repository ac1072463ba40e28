"""Exporting people to CSV from the panel: pick who and which columns; a job writes the file."""

from __future__ import annotations

import os

from django import forms
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _

from nations.jobs.models import Job
from nations.panel.access import staff_required

from ..exports import COLUMNS, DEFAULT_COLUMNS, JOB_KIND, ExportSourceMissing, export_start
from ..models import PeopleList, Segment


class ExportForm(forms.Form):
    source = forms.ChoiceField(
        label=_("Who"),
        choices=[("all", _("Everyone")), ("segment", _("A segment")), ("list", _("A list"))],
        widget=forms.RadioSelect,
        initial="all",
    )
    segment = forms.ModelChoiceField(
        label=_("Segment"), queryset=Segment.objects.all(), required=False
    )
    people_list = forms.ModelChoiceField(
        label=_("List"), queryset=PeopleList.objects.all(), required=False
    )
    columns = forms.MultipleChoiceField(
        label=_("Columns"),
        choices=[(k, c.label) for k, c in COLUMNS.items()],
        widget=forms.CheckboxSelectMultiple,
        initial=list(DEFAULT_COLUMNS),
    )

    def clean(self):
        data = super().clean()
        if data.get("source") == "segment" and not data.get("segment"):
            self.add_error("segment", _("Choose the segment to export."))
        if data.get("source") == "list" and not data.get("people_list"):
            self.add_error("people_list", _("Choose the list to export."))
        return data


@staff_required("people.export")
def export_new(request):
    initial = {}
    if request.GET.get("segment", "").isdigit():
        initial = {"source": "segment", "segment": request.GET["segment"]}
    elif request.GET.get("list", "").isdigit():
        initial = {"source": "list", "people_list": request.GET["list"]}
    form = ExportForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        source = data["source"]
        source_id = {
            "segment": data["segment"].pk if data.get("segment") else None,
            "list": data["people_list"].pk if data.get("people_list") else None,
        }.get(source)
        try:
            job = export_start(
                source=source, source_id=source_id, columns=data["columns"], user_id=request.user.pk
            )
        except ExportSourceMissing:
            form.add_error(None, _("This segment or list no longer exists."))
        else:
            return redirect("panel:jobs:detail", job.pk)
    recent = Job.objects.filter(kind=JOB_KIND)[:10]
    return render(
        request,
        "people/export_new.html",
        {"form": form, "recent": recent, "section": "people"},
        status=400 if form.errors else 200,
    )


@staff_required("people.export")
def export_download(request, job_id: int):
    job = get_object_or_404(Job, pk=job_id, kind=JOB_KIND, status=Job.Status.DONE)
    name = (job.result or {}).get("file", "")
    if not name or not default_storage.exists(name):
        raise Http404
    path = default_storage.path(name)
    return FileResponse(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=os.path.basename(name),
        content_type="text/csv; charset=utf-8",
    )
