"""Imports in the control panel: upload, map the columns, preview, run, read the report."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tenants.utils import tenant_context

from nations.panel.access import can, staff_required
from nations.people.actions import Actor
from nations.people.exports import neutralise

from . import actions
from .forms import MappingForm, UploadForm
from .models import Import
from .reader import FileProblem, records

REPORT_ROWS = 100


def _actor(request) -> Actor:
    return Actor(request.user.pk, request.user.get_short_name() or request.user.email)


@staff_required("people.edit")
def import_list(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            people_import = actions.import_create(
                upload=form.cleaned_data["file"], actor=_actor(request)
            )
        except FileProblem as problem:
            form.add_error("file", problem.message)
        else:
            return redirect("panel:people:import_detail", people_import.pk)
    imports = Import.objects.select_related("job")[:50]
    return render(
        request,
        "imports/import_list.html",
        {
            "form": form,
            "imports": imports,
            "perms_export": can(request, "people.export"),
            "section": "people",
        },
        status=400 if form.errors else 200,
    )


def _samples(people_import: Import, count: int = 3) -> list[list[str]]:
    samples = []
    try:
        for _line, cells in records(
            default_storage.path(people_import.file), actions.sniffed_of(people_import)
        ):
            if cells and any(c.strip() for c in cells):
                samples.append(cells)
            if len(samples) >= count:
                break
    except (OSError, FileProblem):
        pass
    return samples


@staff_required("people.edit")
def import_detail(request, import_id: int):
    people_import = get_object_or_404(Import, pk=import_id)
    if people_import.status != Import.Status.DRAFT:
        return _report(request, people_import)
    initial = {
        "match_rule": people_import.match_rule,
        "on_match": people_import.on_match,
        "date_order": people_import.date_order,
        "extra_tags": ", ".join(people_import.extra_tags),
        **{f"col_{index}": target for index, target in people_import.mapping.items()},
    }
    form = MappingForm(
        request.POST or None,
        initial=initial,
        headers=people_import.headers,
        samples=_samples(people_import),
    )
    if request.method == "POST" and form.is_valid():
        actions.import_configure(
            people_import=people_import,
            mapping=form.cleaned_data["mapping"],
            match_rule=form.cleaned_data["match_rule"],
            on_match=form.cleaned_data["on_match"],
            date_order=form.cleaned_data["date_order"],
            extra_tags=form.cleaned_data["tags"],
        )
        return redirect("panel:people:import_preview", people_import.pk)
    return render(
        request,
        "imports/import_mapping.html",
        {"people_import": people_import, "form": form, "section": "people"},
        status=400 if form.errors else 200,
    )


@staff_required("people.edit")
def import_preview(request, import_id: int):
    people_import = get_object_or_404(Import, pk=import_id)
    if people_import.status != Import.Status.DRAFT:
        return redirect("panel:people:import_detail", people_import.pk)
    if request.method == "POST":
        try:
            actions.import_start(people_import=people_import, actor=_actor(request))
        except actions.ImportNotReady as problem:
            messages.error(request, str(problem))
        return redirect("panel:people:import_detail", people_import.pk)
    try:
        preview = actions.import_preview(people_import)
    except FileProblem as problem:
        messages.error(request, problem.message)
        preview = []
    good = sum(1 for p in preview if not p.problem)
    return render(
        request,
        "imports/import_preview.html",
        {
            "people_import": people_import,
            "preview": preview,
            "good": good,
            "mapped": sorted(set(people_import.mapping.values())),
            "section": "people",
        },
    )


def _report(request, people_import: Import, template: str = "imports/import_report.html"):
    rejections = people_import.rejections.all()[:REPORT_ROWS]
    return render(
        request,
        template,
        {
            "people_import": people_import,
            "rejections": rejections,
            "can_resume": actions.import_can_resume(people_import),
            "section": "people",
        },
    )


@staff_required("people.edit")
def import_status(request, import_id: int):
    people_import = get_object_or_404(Import, pk=import_id)
    response = _report(request, people_import, "imports/_status.html")
    if people_import.is_finished and request.GET.get("was") != people_import.status:
        response["HX-Refresh"] = "true"  # show the full report
    return response


@require_POST
@staff_required("people.edit")
def import_resume(request, import_id: int):
    people_import = get_object_or_404(Import, pk=import_id)
    try:
        actions.import_resume(people_import=people_import)
        messages.success(
            request,
            _("The import goes on from line %(line)s.") % {"line": people_import.offset + 2},
        )
    except actions.ImportNotReady as problem:
        messages.error(request, str(problem))
    return redirect("panel:people:import_detail", people_import.pk)


class _Echo:
    def write(self, value):
        return value


@staff_required("people.edit")
def import_rejections(request, import_id: int):
    people_import = get_object_or_404(Import, pk=import_id)
    response: HttpResponse = StreamingHttpResponse(
        _rejections_csv(request.tenant, people_import), content_type="text/csv; charset=utf-8"
    )
    name = f"rejected-rows-import-{people_import.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _rejections_csv(nation, people_import: Import):
    # The body is produced after the view returns, when the routing middleware has already
    # put the connection back on `public`: the generator enters the nation's schema itself.
    writer = csv.writer(_Echo())
    yield "\ufeff"  # Excel reads UTF-8 CSV correctly only with a byte order mark
    with tenant_context(nation):
        for row in actions.rejections_csv_rows(people_import):
            yield writer.writerow([neutralise(cell) for cell in row])
