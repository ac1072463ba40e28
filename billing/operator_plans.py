"""The plan catalogue for operators: add, edit, retire and re-offer plans without a deploy,
then push them to Stripe. A retired plan keeps its subscribers and is no longer offered."""

from __future__ import annotations

import stripe
from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tenants.operator import operator_required

from .actions import catalogue_sync
from .limits import _PLAN_CACHE
from .models import Plan

FEATURE_CHOICES = [
    (f, f)
    for f in [
        "site",
        "people",
        "donations",
        "email",
        "api",
        "sms",
        "automations",
        "custom_fields",
        "voice",
        "social",
        "webhooks",
        "priority_queue",
        "top_api_rate",
    ]
]


class PlanForm(forms.ModelForm):
    monthly = forms.DecimalField(label=gettext_lazy("Monthly price"), min_value=0, decimal_places=2)
    yearly = forms.DecimalField(
        label=gettext_lazy("Yearly price (for the whole year)"), min_value=0, decimal_places=2
    )
    features = forms.MultipleChoiceField(
        label=gettext_lazy("Features"),
        choices=FEATURE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Plan
        fields = [
            "code",
            "name",
            "position",
            "currency",
            "people_limit",
            "emails_per_month",
            "sms_per_month",
            "staff_seats",
            "custom_domains",
            "api_rate_per_minute",
            "features",
            "is_active",
        ]
        help_texts = {"people_limit": gettext_lazy("Leave empty for unlimited.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["code"].disabled = True  # Stripe lookup keys are built from it
            self.initial["monthly"] = self.instance.monthly_cents / 100
            self.initial["yearly"] = self.instance.yearly_cents / 100
        self.fields["currency"].widget = forms.Select(
            choices=[("usd", "USD"), ("eur", "EUR"), ("gbp", "GBP"), ("cad", "CAD")]
        )

    def save(self, commit=True):
        plan = super().save(commit=False)
        plan.monthly_cents = int(round(self.cleaned_data["monthly"] * 100))
        plan.yearly_cents = int(round(self.cleaned_data["yearly"] * 100))
        if commit:
            plan.save()
        return plan


@operator_required
def plan_list(request):
    plans = Plan.objects.annotate(
        subscribers=Count("subscriptions", filter=~Q(subscriptions__nation__schema_name="public"))
    )
    return render(request, "billing/operator_plans.html", {"plans": plans})


@operator_required
def plan_edit(request, plan_id: int | None = None):
    plan = get_object_or_404(Plan, pk=plan_id) if plan_id else None
    form = PlanForm(request.POST or None, instance=plan)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        _PLAN_CACHE.clear()
        messages.success(
            request, _("Plan %(name)s saved. Sync it to Stripe to sell it.") % {"name": saved.name}
        )
        return redirect("operator_billing:plans")
    return render(request, "billing/operator_plan_form.html", {"form": form, "plan": plan})


@operator_required
@require_POST
def plan_toggle(request, plan_id: int):
    plan = get_object_or_404(Plan, pk=plan_id)
    Plan.objects.filter(pk=plan.pk).update(is_active=not plan.is_active)
    _PLAN_CACHE.clear()
    if plan.is_active:
        messages.success(
            request,
            _("%(name)s is retired: no longer offered; subscribers keep it.") % {"name": plan.name},
        )
    else:
        messages.success(request, _("%(name)s is offered again.") % {"name": plan.name})
    return redirect("operator_billing:plans")


@operator_required
@require_POST
def plans_sync(request):
    try:
        changes = catalogue_sync()
    except stripe.StripeError as error:
        messages.error(request, _("Stripe refused the sync: %(error)s") % {"error": error})
    else:
        messages.success(
            request, _("Plans synced to Stripe (%(n)d price changes).") % {"n": len(changes)}
        )
    return redirect("operator_billing:plans")
