from __future__ import annotations

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def dollars(cents) -> str:
    """1079 00 -> "$1,079"; 2450 -> "$24.50"."""
    if cents in (None, ""):
        return ""
    cents = int(cents)
    if cents % 100 == 0:
        return f"${cents // 100:,}"
    return f"${cents / 100:,.2f}"


@register.inclusion_tag("billing/operator_card.html", takes_context=True)
def operator_billing_card(context, nation):
    from billing.models import Plan
    from billing.state import subscription_for

    return {
        "n": nation,
        "sub": subscription_for(nation),
        "plans": Plan.objects.all(),
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag
def svg(markup: str):
    return mark_safe(markup)  # noqa: S308 - built by billing.charts from escaped values
