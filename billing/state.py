"""What a nation may do, from where its payments stand.

    trialing ──trial ends──┐
    active ──renewal fails / cancelled period ends──> past_due ──7 days──> read_only
      ^                                                                     │ 14 days
      └──────────────── paid (any time) ──────────────── suspended <────────┘

- past_due: everything works; a banner and an email to the owner.
- read_only: panel GETs work, writes are refused (billing.middleware), blasts pause
  (`can_send`), the public site keeps serving.
- suspended: tenants.actions.nation_suspend (site closed, panel locked but for billing); data
  kept. Paying restores everything at once.

The grace periods count from `Subscription.dunning_since`. Stripe's state is the input (see
billing.actions.subscription_sync); `status_at` is a pure function of the row and a time, so
the beat task and a webhook reach the same answer whatever the order they run in.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants.models import Nation

from .models import Subscription

log = logging.getLogger(__name__)
Status = Subscription.Status
PAID_STRIPE_STATUSES = ("active", "trialing")
SENDING_STATUSES = (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE)


def subscription_for(nation: Nation) -> Subscription:
    """The nation's subscription; one made before billing existed gets a trial now."""
    sub = Subscription.objects.select_related("plan").filter(nation_id=nation.pk).first()
    if sub is None:
        from .actions import trial_start

        sub = trial_start(nation=nation, plan_code=nation.plan)
    return sub


def dunning_start(sub: Subscription, now: datetime) -> datetime | None:
    """Since when this nation has not been paying, or None while it is in good standing."""
    if sub.comped:
        return None
    if sub.stripe_subscription_id and sub.stripe_status in PAID_STRIPE_STATUSES:
        return None
    if sub.dunning_since is not None:
        return sub.dunning_since
    if not sub.stripe_subscription_id and sub.trial_ends_at and now >= sub.trial_ends_at:
        return sub.trial_ends_at
    return None


def status_at(sub: Subscription, now: datetime) -> str:
    since = dunning_start(sub, now)
    if since is None:
        if sub.comped or sub.stripe_subscription_id:
            return Status.ACTIVE
        return Status.TRIALING
    grace = timedelta(days=settings.BILLING_GRACE_DAYS)
    site = timedelta(days=settings.BILLING_SITE_DAYS)
    if now < since + grace:
        return Status.PAST_DUE
    if now < since + grace + site:
        return Status.READ_ONLY
    return Status.SUSPENDED


def refresh(sub: Subscription, now: datetime | None = None) -> Subscription:
    """Bring `status` (and the nation's suspension) in line with `status_at(now)`."""
    from tenants.actions import nation_reactivate, nation_suspend

    now = now or timezone.now()
    since = dunning_start(sub, now)
    new = status_at(sub, now)
    old = sub.status
    fields = {"status": new, "dunning_since": since}
    if since is None:
        fields["past_due_notified_at"] = None
    nation = sub.nation
    if new == Status.SUSPENDED and not sub.suspended_by_billing:
        if nation.status == Nation.Status.ACTIVE:
            nation_suspend(nation=nation)
            fields["suspended_by_billing"] = True
    elif new != Status.SUSPENDED and sub.suspended_by_billing:
        if nation.status == Nation.Status.SUSPENDED:
            nation_reactivate(nation=nation)
        fields["suspended_by_billing"] = False
    notify = new == Status.PAST_DUE and sub.past_due_notified_at is None
    if notify:
        fields["past_due_notified_at"] = now
    changed = {k: v for k, v in fields.items() if getattr(sub, k) != v}
    if changed:
        for key, value in changed.items():
            setattr(sub, key, value)
        Subscription.objects.filter(pk=sub.pk).update(**changed)
        if old != new:
            log.info("nation %s billing %s -> %s", sub.nation_id, old, new)
    if notify:
        from .notifications import send_past_due

        sub_id = sub.pk
        transaction.on_commit(lambda: send_past_due(sub_id))
    return sub


def tick(now: datetime | None = None, *, nation_ids: list[int] | None = None) -> int:
    """Apply every transition due at `now` (beat, every 15 minutes). Returns how many changed."""
    now = now or timezone.now()
    changed = 0
    candidates = Subscription.objects.select_related("nation", "plan").filter(comped=False)
    if nation_ids is not None:
        candidates = candidates.filter(nation_id__in=nation_ids)
    for sub in candidates.iterator():
        before = sub.status
        with transaction.atomic():
            refresh(sub, now)
        changed += before != sub.status
    return changed


def can_send(nation: Nation) -> bool:
    """May this nation send blasts (email, SMS) now? False once read-only or suspended."""
    status = (
        Subscription.objects.filter(nation_id=nation.pk).values_list("status", flat=True).first()
    )
    return status is None or status in SENDING_STATUSES


def is_read_only(nation: Nation) -> bool:
    status = (
        Subscription.objects.filter(nation_id=nation.pk).values_list("status", flat=True).first()
    )
    return status in (Status.READ_ONLY, Status.SUSPENDED)


# Paths a nation whose payments stopped can still use: to log in and to pay.
BILLING_PATHS = ("/panel/settings/billing/", "/panel/login/", "/panel/logout/", "/panel/welcome/")


def panel_open_while_suspended(request) -> bool:
    """A nation suspended for non-payment keeps its billing page, so paying can restore it."""
    if not request.path.startswith(BILLING_PATHS):
        return False
    return Subscription.objects.filter(
        nation_id=request.tenant.pk, suspended_by_billing=True
    ).exists()
