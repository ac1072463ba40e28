"""Emails about billing, in the nation's language."""

from __future__ import annotations

from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from tenants.hosts import nation_url
from tenants.models import Membership

from .models import Subscription


def send_past_due(subscription_id: int) -> int:
    """Tell the owners a payment failed and what happens next. Returns messages sent."""
    sub = Subscription.objects.select_related("nation", "plan").filter(pk=subscription_id).first()
    if sub is None:
        return 0
    nation = sub.nation
    owners = Membership.objects.filter(nation=nation, role=Membership.Role.OWNER).select_related(
        "user"
    )
    context = {
        "nation": nation,
        "sub": sub,
        "trial": not sub.stripe_subscription_id,
        "billing_url": nation_url(nation, "/panel/settings/billing/"),
    }
    sent = 0
    with translation.override(nation.language):
        subject = render_to_string("billing/email/past_due_subject.txt", context).strip()
        body = render_to_string("billing/email/past_due.txt", context)
        for membership in owners:
            sent += send_mail(subject, body, None, [membership.user.email])
    return sent
