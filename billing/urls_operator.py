"""Operator billing pages, mounted under /operator/billing/ (namespace operator_billing)."""

from django.urls import path

from . import operator

app_name = "operator_billing"

urlpatterns = [
    path("", operator.revenue, name="revenue"),
    path(
        "nations/<int:nation_id>/<slug:action>/",
        operator.nation_billing_action,
        name="nation_action",
    ),
]
