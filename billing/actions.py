"""State changes of billing: trials, Checkout, plan changes, the portal, syncing from Stripe,
operator actions, and pushing the catalogue to Stripe. Views, webhooks, tasks and commands call
these; errors a user can meet are `BillingError` with a message in the active language."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenants.models import Membership, Nation

from .limits import LIMIT_LABELS, downgrade_blockers, forget_plan
from .models import Plan, Subscription
from .state import refresh, subscription_for
from .stripe_client import BillingNotConfigured, stripe_client

log = logging.getLogger(__name__)
LIVE_STRIPE_STATUSES = ("active", "trialing", "past_due", "unpaid", "incomplete")


class BillingError(Exception):
    """Something the user asked for cannot be done; str() says why, in their language."""


class DowngradeRefused(BillingError):
    def __init__(self, plan: Plan, blockers: list[dict]):
        self.plan = plan
        self.blockers = blockers
        parts = [
            _("%(used)s %(what)s where %(plan)s allows %(limit)s (%(excess)s too many)")
            % {
                "used": f"{b['used']:,}",
                "what": LIMIT_LABELS[b["name"]],
                "plan": plan.name,
                "limit": f"{b['limit']:,}",
                "excess": f"{b['excess']:,}",
            }
            for b in blockers
        ]
        super().__init__(
            _("Your nation is above the %(plan)s plan's limits: %(details)s.")
            % {"plan": plan.name, "details": "; ".join(parts)}
        )


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def _stripe_call(func, *args, **kwargs):
    """Run one SDK call; turn Stripe's refusals into BillingError."""
    try:
        return func(*args, **kwargs)
    except BillingNotConfigured as exc:
        raise BillingError(_("Payments are not set up on this platform yet.")) from exc
    except stripe.CardError as exc:
        raise BillingError(_("Your card was declined. Update your card, then try again.")) from exc
    except stripe.InvalidRequestError as exc:
        log.warning("stripe refused: %s", exc.user_message)
        raise BillingError(
            _("Stripe refused this request: %(reason)s") % {"reason": exc.user_message}
        ) from exc
    except stripe.StripeError as exc:
        log.exception("stripe unavailable")
        raise BillingError(
            _("Payments are unavailable right now. Please try again in a few minutes.")
        ) from exc


# --- trial and the catalogue -----------------------------------------------------------------
def offered_plans() -> list[Plan]:
    return list(Plan.objects.filter(is_active=True))


def trial_start(*, nation: Nation, plan_code: str | None = None) -> Subscription:
    """Start the no-card trial on `plan_code` (Starter if unknown or retired). Idempotent."""
    plan = (
        Plan.objects.filter(code=plan_code or "starter", is_active=True).first()
        or Plan.objects.filter(is_active=True).order_by("position").first()
    )
    if plan is None:
        raise BillingError(_("No plan is on offer."))
    now = timezone.now()
    sub, created = Subscription.objects.select_related("plan").get_or_create(
        nation=nation,
        defaults={
            "plan": plan,
            "status": Subscription.Status.TRIALING,
            "trial_ends_at": now + timedelta(days=settings.BILLING_TRIAL_DAYS),
            "billing_anchor": now,
        },
    )
    if created and nation.plan != plan.code:
        Nation.objects.filter(pk=nation.pk).update(plan=plan.code)
        nation.plan = plan.code
    return sub


def plan_offer(price_id: str) -> tuple[Plan, str]:
    """The (plan, interval) a Stripe price id stands for; a tampered or retired one is refused."""
    price_id = (price_id or "").strip()
    if price_id:
        for plan in Plan.objects.filter(is_active=True):
            if price_id == plan.stripe_monthly_price_id:
                return plan, "month"
            if price_id == plan.stripe_yearly_price_id:
                return plan, "year"
    raise BillingError(_("This plan is not available. Pick one of the plans below."))


def _plan_for_price(price_id: str) -> tuple[Plan, str] | None:
    for plan in Plan.objects.all():
        if price_id == plan.stripe_monthly_price_id:
            return plan, "month"
        if price_id == plan.stripe_yearly_price_id:
            return plan, "year"
    return None


def _owner_email(nation: Nation) -> str | None:
    owner = (
        Membership.objects.filter(nation=nation, role=Membership.Role.OWNER)
        .select_related("user")
        .order_by("created_at")
        .first()
    )
    return owner.user.email if owner else None


def _customer_ensure(client: stripe.StripeClient, sub: Subscription) -> str:
    if sub.stripe_customer_id:
        return sub.stripe_customer_id
    nation = sub.nation
    customer = client.v1.customers.create(
        params={
            "name": nation.name,
            "email": _owner_email(nation),
            "metadata": {"nation_id": str(nation.pk), "slug": nation.slug},
        },
        options={"idempotency_key": f"nation-customer-{nation.pk}-{sub.pk}"},
    )
    Subscription.objects.filter(pk=sub.pk).update(stripe_customer_id=customer.id)
    sub.stripe_customer_id = customer.id
    return customer.id


# --- subscribing and changing plans -----------------------------------------------------------
def checkout_start(
    *, nation: Nation, price_id: str, success_url: str, cancel_url: str, intent: str = ""
) -> str:
    """Open a Stripe Checkout session (subscription mode) for a plan; returns its URL.

    Refused: an unknown or retired price, a nation already subscribed (it changes plan
    instead), a plan whose limits the nation already exceeds. `intent` is the form's one-time
    token: the same form posted twice (a double-click) gets the same session back."""
    plan, interval = plan_offer(price_id)
    sub = subscription_for(nation)
    if sub.stripe_subscription_id and sub.stripe_status in LIVE_STRIPE_STATUSES:
        raise BillingError(_("You already have a subscription. Change your plan instead."))
    blockers = downgrade_blockers(nation, plan)
    if blockers:
        raise DowngradeRefused(plan, blockers)

    def create():
        client = stripe_client()
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": _customer_ensure(client, sub),
            "line_items": [{"price": price_id, "quantity": 1}],
            "client_reference_id": str(nation.pk),
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": {"nation_id": str(nation.pk)},
            "subscription_data": {"metadata": {"nation_id": str(nation.pk), "plan": plan.code}},
            "locale": nation.language,
        }
        if sub.coupon:
            params["discounts"] = [{"coupon": sub.coupon}]
        key = f"checkout-{nation.pk}-{_intent(intent)}"
        return client.v1.checkout.sessions.create(params=params, options={"idempotency_key": key})

    session = _stripe_call(create)
    return session.url


def checkout_return(*, nation: Nation, session_id: str) -> Subscription:
    """Back from Checkout: apply the subscription now rather than wait for the webhook."""
    if not session_id.startswith("cs_"):
        raise BillingError(_("This checkout link is not valid."))
    client = _stripe_call(stripe_client)
    session = _stripe_call(
        client.v1.checkout.sessions.retrieve, session_id, params={"expand": ["subscription"]}
    )
    if session.client_reference_id != str(nation.pk):
        raise BillingError(_("This checkout does not belong to this nation."))
    if session.status != "complete" or not session.subscription:
        raise BillingError(_("The payment was not completed. Nothing was charged."))
    with transaction.atomic():
        sub = (
            Subscription.objects.select_for_update()
            .select_related("nation", "plan")
            .get(nation=nation)
        )
        return subscription_sync(sub=sub, stripe_sub=session.subscription)


def _intent(token: str) -> str:
    """The form's one-time token if it looks like one, else a fresh one (no dedupe)."""
    token = (token or "").strip()
    if 16 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum():
        return token
    return secrets.token_urlsafe(16)


def _is_upgrade(sub: Subscription, plan: Plan, interval: str) -> bool:
    current = sub.plan.price_cents(sub.interval) / (12 if sub.interval == "year" else 1)
    wanted = plan.price_cents(interval) / (12 if interval == "year" else 1)
    return wanted > current or interval != sub.interval


def plan_change(*, nation: Nation, price_id: str, intent: str = "") -> Subscription:
    """Switch plan or interval on the live subscription. Upgrades are prorated and charged now
    (and refused, changing nothing, if the card is declined); downgrades credit the next
    invoice and are refused when the nation exceeds the new plan's limits."""
    plan, interval = plan_offer(price_id)
    sub = subscription_for(nation)
    if not (sub.stripe_subscription_id and sub.stripe_status in LIVE_STRIPE_STATUSES):
        raise BillingError(_("Subscribe first: your nation has no paid plan yet."))
    if plan.pk == sub.plan_id and interval == sub.interval:
        raise BillingError(_("Your nation is already on this plan."))
    blockers = downgrade_blockers(nation, plan)
    if blockers:
        raise DowngradeRefused(plan, blockers)
    upgrade = _is_upgrade(sub, plan, interval)

    def update():
        client = stripe_client()
        current = client.v1.subscriptions.retrieve(sub.stripe_subscription_id)
        item_id = current["items"].data[0].id
        params: dict[str, Any] = {
            "items": [{"id": item_id, "price": price_id}],
            "proration_behavior": "always_invoice" if upgrade else "create_prorations",
            "metadata": {"plan": plan.code},
        }
        if upgrade:
            params["payment_behavior"] = "error_if_incomplete"
        key = f"change-{sub.stripe_subscription_id}-{_intent(intent)}"
        return client.v1.subscriptions.update(
            sub.stripe_subscription_id, params=params, options={"idempotency_key": key}
        )

    updated = _stripe_call(update)
    with transaction.atomic():
        locked = (
            Subscription.objects.select_for_update().select_related("nation", "plan").get(pk=sub.pk)
        )
        return subscription_sync(sub=locked, stripe_sub=updated)


def portal_url(*, nation: Nation, return_url: str) -> str:
    """A Stripe billing portal session: card, invoices, cancellation."""
    sub = subscription_for(nation)
    if not sub.stripe_customer_id:
        raise BillingError(_("Subscribe first: there is no card or invoice yet."))

    def create():
        return stripe_client().v1.billing_portal.sessions.create(
            params={"customer": sub.stripe_customer_id, "return_url": return_url}
        )

    return _stripe_call(create).url


def invoices(*, nation: Nation, limit: int = 12) -> list[dict]:
    sub = subscription_for(nation)
    if not sub.stripe_customer_id:
        return []

    def fetch():
        return stripe_client().v1.invoices.list(
            params={"customer": sub.stripe_customer_id, "limit": limit}
        )

    return [
        {
            "number": i.number,
            "date": _ts(i.created),
            "total": i.total / 100,
            "currency": i.currency.upper(),
            "status": i.status,
            "url": i.hosted_invoice_url,
            "pdf": i.invoice_pdf,
        }
        for i in _stripe_call(fetch).data
    ]


# --- converging on Stripe's state ------------------------------------------------------------
def subscription_sync(
    *, sub: Subscription, stripe_sub=None, now: datetime | None = None
) -> Subscription:
    """Make `sub` match Stripe's subscription, re-fetched (with its latest invoice) so events
    delivered twice, late or out of order all converge on Stripe's current state. Call inside
    a transaction holding the row (select_for_update)."""
    sub_id = stripe_sub if isinstance(stripe_sub, str) else getattr(stripe_sub, "id", None)
    sub_id = sub_id or sub.stripe_subscription_id
    if not sub_id:
        return refresh(sub, now)
    client = _stripe_call(stripe_client)
    fresh = _stripe_call(
        client.v1.subscriptions.retrieve, sub_id, params={"expand": ["latest_invoice"]}
    )
    # Another subscription than the nation's: an old one's late news, or a second one (two
    # Checkouts completed). It replaces ours only once ours has ended.
    if (
        sub.stripe_subscription_id
        and fresh.id != sub.stripe_subscription_id
        and (fresh.status == "canceled" or sub.stripe_status != "canceled")
    ):
        log.warning("nation %s: ignoring subscription %s", sub.nation_id, fresh.id)
        return sub
    item = fresh["items"].data[0]
    changes: dict[str, Any] = {
        "stripe_subscription_id": fresh.id,
        "stripe_customer_id": fresh.customer
        if isinstance(fresh.customer, str)
        else fresh.customer.id,
        "stripe_status": fresh.status,
        "current_period_end": _ts(item.current_period_end),
        "cancel_at_period_end": bool(fresh.cancel_at_period_end),
        "billing_anchor": _ts(fresh.billing_cycle_anchor),
    }
    known = _plan_for_price(item.price.id)
    if known:
        changes["plan"], changes["interval"] = known
    else:
        log.warning(
            "subscription %s has a price outside the catalogue: %s", fresh.id, item.price.id
        )
    if fresh.status in ("active", "trialing"):
        changes["dunning_since"] = None
    elif fresh.status == "canceled":
        changes["dunning_since"] = sub.dunning_since or _ts(fresh.ended_at) or timezone.now()
    else:  # past_due, unpaid, incomplete: since the invoice that could not be paid
        invoice = fresh.latest_invoice
        failed_at = None
        if invoice is not None and not isinstance(invoice, str):
            failed_at = _ts(invoice.status_transitions.finalized_at or invoice.created)
        changes["dunning_since"] = sub.dunning_since or failed_at or timezone.now()
    for key, value in changes.items():
        setattr(sub, key, value)
    sub.save()
    if sub.nation.plan != sub.plan.code:
        Nation.objects.filter(pk=sub.nation_id).update(plan=sub.plan.code)
        sub.nation.plan = sub.plan.code
    forget_plan(sub.nation_id)
    return refresh(sub, now)


# --- operator actions ------------------------------------------------------------------------
def comp(*, nation: Nation, plan_code: str) -> Subscription:
    """Give a nation a plan for free (no card, no invoice), until `comp_end`."""
    plan = Plan.objects.filter(code=plan_code).first()
    if plan is None:
        raise BillingError(_("Unknown plan: %(code)s.") % {"code": plan_code})
    with transaction.atomic():
        sub = (
            Subscription.objects.select_for_update()
            .select_related("nation")
            .get(pk=subscription_for(nation).pk)
        )
        sub.comped = True
        sub.plan = plan
        sub.dunning_since = None
        sub.save()
        Nation.objects.filter(pk=nation.pk).update(plan=plan.code)
        forget_plan(nation.pk)
        return refresh(sub)


def comp_end(*, nation: Nation) -> Subscription:
    """End a comp: the nation gets a fresh trial (or goes back to its Stripe subscription)."""
    with transaction.atomic():
        sub = (
            Subscription.objects.select_for_update()
            .select_related("nation", "plan")
            .get(pk=subscription_for(nation).pk)
        )
        sub.comped = False
        if not sub.stripe_subscription_id:
            sub.trial_ends_at = timezone.now() + timedelta(days=settings.BILLING_TRIAL_DAYS)
            sub.dunning_since = None
        sub.save()
        return refresh(sub)


def trial_extend(*, nation: Nation, days: int) -> Subscription:
    """Push the trial's end `days` further (from now if it already ended)."""
    if not 1 <= days <= 90:
        raise BillingError(_("A trial can be extended by 1 to 90 days."))
    with transaction.atomic():
        sub = (
            Subscription.objects.select_for_update()
            .select_related("nation", "plan")
            .get(pk=subscription_for(nation).pk)
        )
        if sub.stripe_subscription_id and sub.stripe_status in LIVE_STRIPE_STATUSES:
            raise BillingError(_("This nation already pays; there is no trial to extend."))
        base = max(sub.trial_ends_at or timezone.now(), timezone.now())
        sub.trial_ends_at = base + timedelta(days=days)
        sub.dunning_since = None
        sub.save()
        return refresh(sub)


def coupon_apply(*, nation: Nation, code: str) -> Subscription:
    """Apply a Stripe coupon: now on a live subscription, else on the nation's next Checkout.
    A coupon that does not exist or has expired is refused and nothing changes."""
    code = (code or "").strip()
    if not code:
        raise BillingError(_("Enter a coupon code."))
    client = _stripe_call(stripe_client)
    try:
        coupon = client.v1.coupons.retrieve(code)
    except stripe.InvalidRequestError as exc:
        raise BillingError(_("No coupon %(code)s exists.") % {"code": code}) from exc
    except stripe.StripeError as exc:
        raise BillingError(
            _("Payments are unavailable right now. Please try again in a few minutes.")
        ) from exc
    if not coupon.valid:
        raise BillingError(_("The coupon %(code)s has expired.") % {"code": code})
    sub = subscription_for(nation)
    if sub.stripe_subscription_id and sub.stripe_status in LIVE_STRIPE_STATUSES:
        _stripe_call(
            client.v1.subscriptions.update,
            sub.stripe_subscription_id,
            params={"discounts": [{"coupon": code}]},
        )
    Subscription.objects.filter(pk=sub.pk).update(coupon=code)
    sub.coupon = code
    return sub


# --- the catalogue on Stripe -----------------------------------------------------------------
def catalogue_sync() -> list[str]:
    """Create or update one Stripe product per plan and its monthly and yearly prices (found by
    lookup key; a changed amount makes a new price and retires the old). Idempotent."""
    client = stripe_client()
    report = []
    for plan in Plan.objects.all():
        product_id = plan.stripe_product_id or f"nations_plan_{plan.code}"
        try:
            client.v1.products.update(
                product_id, params={"name": f"Nations {plan.name}", "active": plan.is_active}
            )
        except stripe.InvalidRequestError:
            client.v1.products.create(
                params={
                    "id": product_id,
                    "name": f"Nations {plan.name}",
                    "active": plan.is_active,
                    "metadata": {"plan": plan.code},
                }
            )
        ids = {}
        for interval, amount in (("month", plan.monthly_cents), ("year", plan.yearly_cents)):
            key = f"nations_{plan.code}_{interval}"
            found = client.v1.prices.list(params={"lookup_keys": [key], "limit": 1}).data
            price = found[0] if found else None
            if price is None or price.unit_amount != amount or price.currency != plan.currency:
                new = client.v1.prices.create(
                    params={
                        "product": product_id,
                        "currency": plan.currency,
                        "unit_amount": amount,
                        "recurring": {"interval": interval},
                        "lookup_key": key,
                        "transfer_lookup_key": True,
                        "metadata": {"plan": plan.code},
                    }
                )
                if price is not None:
                    client.v1.prices.update(price.id, params={"active": False})
                price = new
                report.append(f"{plan.code} {interval}: new price {new.id}")
            ids[interval] = price.id
        Plan.objects.filter(pk=plan.pk).update(
            stripe_product_id=product_id,
            stripe_monthly_price_id=ids["month"],
            stripe_yearly_price_id=ids["year"],
        )
    return report
