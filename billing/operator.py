"""The operator's view of the business: revenue, plans, trials, dunning; and per-nation billing
actions (comp, extend a trial, apply a coupon). Superusers only, platform host."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenants.models import Nation
from tenants.operator import operator_required

from .actions import BillingError, comp, comp_end, coupon_apply, trial_extend
from .charts import bar_chart
from .models import Plan, Subscription
from .templatetags.billing_tags import dollars


def revenue_figures() -> dict:
    subs = list(
        Subscription.objects.select_related("plan", "nation").exclude(nation__schema_name="public")
    )
    plans = list(Plan.objects.all())
    mrr_by_plan: Counter = Counter()
    nations_by_plan: Counter = Counter()
    by_status: Counter = Counter()
    for sub in subs:
        mrr_by_plan[sub.plan_id] += sub.mrr_cents
        nations_by_plan[sub.plan_id] += 1
        by_status["comped" if sub.comped else sub.status] += 1
    mrr = sum(mrr_by_plan.values())
    now = timezone.now()
    trials_ending = sorted(
        (
            s
            for s in subs
            if s.status == Subscription.Status.TRIALING
            and s.trial_ends_at
            and s.trial_ends_at <= now + timedelta(days=7)
        ),
        key=lambda s: s.trial_ends_at,
    )
    dunning = sorted(
        (
            s
            for s in subs
            if s.status
            in (
                Subscription.Status.PAST_DUE,
                Subscription.Status.READ_ONLY,
                Subscription.Status.SUSPENDED,
            )
        ),
        key=lambda s: s.dunning_since or now,
    )
    status_labels = dict(Subscription.Status.choices) | {"comped": _("Comped")}
    plan_rows = [
        {"plan": p, "nations": nations_by_plan[p.pk], "mrr": mrr_by_plan[p.pk]} for p in plans
    ]
    status_rows = [
        (status_labels[key], by_status[key]) for key in [*Subscription.Status.values, "comped"]
    ]
    return {
        "mrr": mrr,
        "arr": mrr * 12,
        "paying": sum(1 for s in subs if s.mrr_cents),
        "total": len(subs),
        "plan_rows": plan_rows,
        "status_rows": status_rows,
        "trials_ending": trials_ending,
        "dunning": dunning,
        "mrr_chart": bar_chart(
            [(r["plan"].name, r["mrr"], dollars(r["mrr"])) for r in plan_rows],
            title=_("Monthly recurring revenue by plan"),
        ),
        "plan_chart": bar_chart(
            [(r["plan"].name, r["nations"], str(r["nations"])) for r in plan_rows],
            title=_("Nations by plan"),
            alt=True,
        ),
        "status_chart": bar_chart(
            [(label, count, str(count)) for label, count in status_rows],
            title=_("Nations by billing status"),
            alt=True,
        ),
    }


@operator_required
def revenue(request):
    return render(request, "billing/operator_revenue.html", revenue_figures())


@operator_required
@require_POST
def nation_billing_action(request, nation_id: int, action: str):
    nation = get_object_or_404(Nation.objects.exclude(schema_name="public"), pk=nation_id)
    try:
        if action == "comp":
            sub = comp(nation=nation, plan_code=request.POST.get("plan", ""))
            messages.success(
                request,
                _("%(name)s now has the %(plan)s plan for free.")
                % {"name": nation.name, "plan": sub.plan.name},
            )
        elif action == "end-comp":
            comp_end(nation=nation)
            messages.success(
                request, _("%(name)s pays again (a new trial started).") % {"name": nation.name}
            )
        elif action == "extend-trial":
            try:
                days = int(request.POST.get("days", ""))
            except ValueError:
                days = 0
            sub = trial_extend(nation=nation, days=days)
            messages.success(
                request,
                _("The trial of %(name)s now ends on %(date)s.")
                % {"name": nation.name, "date": sub.trial_ends_at.date()},
            )
        elif action == "coupon":
            sub = coupon_apply(nation=nation, code=request.POST.get("coupon", ""))
            messages.success(
                request,
                _("Coupon %(code)s applied to %(name)s.")
                % {"code": sub.coupon, "name": nation.name},
            )
        else:
            raise Http404
    except BillingError as error:
        messages.error(request, str(error))
    return redirect("operator:nation_detail", nation_id=nation.pk)
