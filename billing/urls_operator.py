"""Operator billing pages, mounted under /operator/billing/ (namespace operator_billing)."""

from django.urls import path

from . import operator, operator_plans

app_name = "operator_billing"

urlpatterns = [
    path("", operator.revenue, name="revenue"),
    path("plans/", operator_plans.plan_list, name="plans"),
    path("plans/new/", operator_plans.plan_edit, name="plan_new"),
    path("plans/sync/", operator_plans.plans_sync, name="plans_sync"),
    path("plans/<int:plan_id>/", operator_plans.plan_edit, name="plan_edit"),
    path("plans/<int:plan_id>/toggle/", operator_plans.plan_toggle, name="plan_toggle"),
    path(
        "nations/<int:nation_id>/<slug:action>/",
        operator.nation_billing_action,
        name="nation_action",
    ),
]
