"""The Billing page of a nation's panel (Settings → Billing), for owners only."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nations.panel.access import staff_required

from .actions import (
    BillingError,
    checkout_return,
    checkout_start,
    invoices,
    offered_plans,
    plan_change,
    portal_url,
)
from .catalogue import FEATURE_LABELS
from .limits import usage_report
from .state import subscription_for


def _days_left(moment) -> int | None:
    if moment is None:
        return None
    return max(0, (moment - timezone.now()).days + (1 if (moment - timezone.now()).seconds else 0))


@staff_required("billing.manage")
def overview(request):
    nation = request.tenant
    sub = subscription_for(nation)
    invoice_rows, invoice_error = [], ""
    try:
        invoice_rows = invoices(nation=nation)
    except BillingError as error:
        invoice_error = str(error)
    plans = offered_plans()
    current_rank = sub.plan.position
    cards = []
    for plan in plans:
        cards.append(
            {
                "plan": plan,
                "current": plan.pk == sub.plan_id,
                "higher": plan.position > current_rank,
                "features": [FEATURE_LABELS.get(f, f) for f in plan.features],
                "limits": [
                    (_("people"), plan.people_limit),
                    (_("emails a month"), plan.emails_per_month),
                    (_("texts a month"), plan.sms_per_month),
                    (_("staff seats"), plan.staff_seats),
                    (_("custom domains"), plan.custom_domains),
                ],
            }
        )
    paying = bool(sub.stripe_subscription_id) and sub.stripe_status not in ("canceled", "")
    return render(
        request,
        "billing/overview.html",
        {
            "sub": sub,
            "usage": usage_report(nation, sub.plan),
            "cards": cards,
            "paying": paying,
            "interval": request.GET.get("interval")
            if request.GET.get("interval") in ("month", "year")
            else sub.interval,
            "trial_days_left": _days_left(sub.trial_ends_at) if sub.status == "trialing" else None,
            "invoices": invoice_rows,
            "invoice_error": invoice_error,
            "payments_ready": bool(settings.STRIPE_SECRET_KEY),
            "intent": secrets.token_urlsafe(16),
            "section": "settings",
            "tab": "billing",
        },
    )


@staff_required("billing.manage")
@require_POST
def checkout(request):
    nation = request.tenant
    back = request.build_absolute_uri(reverse("panel:billing:overview"))
    success = request.build_absolute_uri(reverse("panel:billing:return"))
    try:
        url = checkout_start(
            nation=nation,
            price_id=request.POST.get("price", ""),
            success_url=success + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=back,
            intent=request.POST.get("intent", ""),
        )
    except BillingError as error:
        messages.error(request, str(error))
        return redirect("panel:billing:overview")
    return HttpResponseRedirect(url, status=303)


@staff_required("billing.manage")
def checkout_done(request):
    try:
        sub = checkout_return(nation=request.tenant, session_id=request.GET.get("session_id", ""))
    except BillingError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Thank you! %(nation)s is on the %(plan)s plan.")
            % {"nation": request.tenant.name, "plan": sub.plan.name},
        )
    return redirect("panel:billing:overview")


@staff_required("billing.manage")
@require_POST
def change(request):
    try:
        sub = plan_change(
            nation=request.tenant,
            price_id=request.POST.get("price", ""),
            intent=request.POST.get("intent", ""),
        )
    except BillingError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Your nation is now on the %(plan)s plan (%(interval)s).")
            % {"plan": sub.plan.name, "interval": sub.get_interval_display().lower()},
        )
    return redirect("panel:billing:overview")


@staff_required("billing.manage")
@require_POST
def portal(request):
    try:
        url = portal_url(
            nation=request.tenant,
            return_url=request.build_absolute_uri(reverse("panel:billing:overview")),
        )
    except BillingError as error:
        messages.error(request, str(error))
        return redirect("panel:billing:overview")
    return HttpResponseRedirect(url, status=303)
