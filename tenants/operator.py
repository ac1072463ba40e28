"""The operator console: every nation on the platform, and what operators may do to one."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.http import HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .actions import nation_reactivate, nation_schedule_deletion, nation_suspend
from .models import Nation


def operator_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), "platform:login")
        if not request.user.is_superuser:
            return HttpResponseForbidden(_("Operators only."))
        return view(request, *args, **kwargs)

    return wrapper


def people_counts(nations: list[Nation]) -> dict[int, int]:
    """Exact people count for each nation of one console page (one query for the page)."""
    if not nations:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid"
            " WHERE c.relname = 'people_person' AND n.nspname = ANY(%s)",
            [[n.schema_name for n in nations]],
        )
        present = {row[0] for row in cursor.fetchall()}
        parts = [
            f'SELECT {n.pk}, count(*) FROM "{n.schema_name}".people_person'
            for n in nations
            if n.schema_name in present
        ]
        if not parts:
            return {}
        cursor.execute(" UNION ALL ".join(parts))
        return dict(cursor.fetchall())


@operator_required
def nation_list(request):
    nations = Nation.objects.exclude(schema_name="public").prefetch_related("domains")
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    if query:
        nations = nations.filter(
            Q(name__icontains=query)
            | Q(slug__icontains=query)
            | Q(domains__domain__icontains=query)
        ).distinct()
    if status in Nation.Status.values:
        nations = nations.filter(status=status)
    page = Paginator(nations, 50).get_page(request.GET.get("page"))
    counts = people_counts(list(page.object_list))
    rows = [(n, counts.get(n.pk, 0)) for n in page.object_list]
    return render(
        request,
        "operator/nation_list.html",
        {
            "page": page,
            "rows": rows,
            "query": query,
            "status": status,
            "statuses": Nation.Status.choices,
            "total": Nation.objects.exclude(schema_name="public").count(),
        },
    )


@operator_required
def nation_detail(request, nation_id: int):
    nation = get_object_or_404(Nation.objects.exclude(schema_name="public"), pk=nation_id)
    return render(
        request,
        "operator/nation_detail.html",
        {
            "n": nation,
            "people": people_counts([nation]).get(nation.pk, 0),
            "domains": nation.domains.all(),
            "staff": nation.memberships.select_related("user").order_by("role"),
        },
    )


@operator_required
@require_POST
def nation_action(request, nation_id: int, action: str):
    nation = get_object_or_404(Nation.objects.exclude(schema_name="public"), pk=nation_id)
    if action == "suspend":
        nation_suspend(nation=nation)
        messages.success(
            request, _("%(name)s is suspended. Its data is kept.") % {"name": nation.name}
        )
    elif action == "reactivate":
        nation_reactivate(nation=nation)
        messages.success(request, _("%(name)s is active again.") % {"name": nation.name})
    elif action == "schedule-deletion":
        if request.POST.get("confirm_slug") != nation.slug:
            messages.error(request, _("Type the nation's subdomain to confirm the deletion."))
            return redirect("operator:nation_detail", nation_id=nation.pk)
        nation_schedule_deletion(nation=nation)
        messages.success(
            request,
            _("%(name)s will be deleted on %(date)s. Its data is being exported first.")
            % {"name": nation.name, "date": nation.deletion_due_at.date()},
        )
    else:
        return HttpResponseForbidden()
    return redirect("operator:nation_detail", nation_id=nation.pk)
