"""RGPD/GDPR in the control panel: download everything held about a person, erase a person."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from nations.panel.access import forbidden_message, staff_required

from .. import actions
from ..models import Person
from .profile import actor_for, can_erase


def export_zip(person: Person) -> bytes:
    """person.json with every table, and one CSV per table, in a zip."""
    tables = actions.person_export_data(person)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "person.json", json.dumps(tables, indent=2, ensure_ascii=False, default=str)
        )
        for name, rows in tables.items():
            if not rows:
                continue
            out = io.StringIO()
            columns = list(dict.fromkeys(k for row in rows for k in row))
            writer = csv.DictWriter(out, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                        for k, v in row.items()
                    }
                )
            archive.writestr(f"{name}.csv", "\ufeff" + out.getvalue())  # BOM: Excel reads UTF-8
    return buffer.getvalue()


@staff_required("people.export")
def person_export(request: HttpRequest, person_id: int) -> HttpResponse:
    person = get_object_or_404(Person, pk=person_id)
    data = export_zip(person)
    stamp = timezone.localdate().isoformat()
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="person-{person.pk}-{stamp}.zip"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@staff_required("people.edit")
def person_erase(request: HttpRequest, person_id: int) -> HttpResponse:
    person = get_object_or_404(Person, pk=person_id)
    if not can_erase(request):
        return render(request, "panel/forbidden.html", {"message": forbidden_message()}, status=403)
    if person.is_erased:
        messages.info(request, _("This person's data was already erased."))
        return redirect("panel:people:detail", person.pk)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm", "").strip().upper() == _("ERASE"):
            actions.person_erase(person=person, actor=actor_for(request))
            messages.success(request, _("Their personal data was erased."))
            return redirect("panel:people:detail", person.pk)
        error = _("Type %(word)s to confirm.") % {"word": _("ERASE")}
    return render(
        request,
        "people/person_erase.html",
        {"person": person, "error": error, "word": _("ERASE"), "section": "people"},
        status=400 if error else 200,
    )
