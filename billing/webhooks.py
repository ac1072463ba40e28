"""Stripe's webhook (platform host, public schema): verify the signature on the raw body, record
the event id under a unique constraint, process once, converge by re-fetching the subscription.

Outcomes (JSON `outcome`, status 200 unless the signature is bad): processed, duplicate,
ignored (a type we do not act on), unknown_customer (nothing of ours: nothing changed)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .actions import subscription_sync
from .models import Subscription, WebhookEvent

log = logging.getLogger(__name__)
HANDLED = {
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
}


@csrf_exempt
@require_POST
def stripe_webhook(request):
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return HttpResponse("webhooks are not configured", status=503, content_type="text/plain")
    try:
        event = stripe.Webhook.construct_event(
            request.body.decode("utf-8"), request.META.get("HTTP_STRIPE_SIGNATURE", ""), secret
        )
    except (ValueError, UnicodeDecodeError, stripe.SignatureVerificationError):
        log.warning("stripe webhook with a bad signature or payload refused")
        return HttpResponseBadRequest("invalid signature", content_type="text/plain")
    return JsonResponse({"received": True, "outcome": process_event(event)})


def _references(event) -> tuple[str | None, str | None, str | None]:
    """(subscription id, customer id, nation id from our metadata) named by the event."""
    obj = event.data.object.to_dict()
    metadata = obj.get("metadata") or {}
    if event.type.startswith("checkout.session."):
        return obj.get("subscription"), obj.get("customer"), obj.get("client_reference_id")
    if event.type.startswith("customer.subscription."):
        return obj.get("id"), obj.get("customer"), metadata.get("nation_id")
    if event.type.startswith("invoice."):
        parent = obj.get("parent") or {}
        details = parent.get("subscription_details") or {}
        nation_id = (details.get("metadata") or {}).get("nation_id")
        return details.get("subscription"), obj.get("customer"), nation_id
    return None, None, None


def _find(sub_id, customer_id, nation_id):
    rows = Subscription.objects.select_for_update().select_related("nation", "plan")
    for field, value in (
        ("stripe_subscription_id", sub_id),
        ("stripe_customer_id", customer_id),
        ("nation_id", nation_id),
    ):
        if value:
            found = rows.filter(**{field: value}).first()
            if found is not None:
                return found
    return None


def process_event(event) -> str:
    """Apply one verified event, once. Raises (so Stripe retries) only if Stripe is unreachable."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = WebhookEvent.objects.create(
                    event_id=event.id,
                    type=event.type,
                    created=datetime.fromtimestamp(event.created, UTC),
                    outcome=WebhookEvent.Outcome.PROCESSED,
                )
        except IntegrityError:
            return "duplicate"
        if event.type not in HANDLED:
            record.outcome = WebhookEvent.Outcome.IGNORED
        else:
            sub_id, customer_id, nation_id = _references(event)
            nation_id = nation_id if str(nation_id or "").isdigit() else None
            sub = _find(sub_id, customer_id, nation_id)
            if sub is None:
                log.warning("stripe event %s (%s) for no nation of ours", event.id, event.type)
                record.outcome = WebhookEvent.Outcome.UNKNOWN_CUSTOMER
            else:
                subscription_sync(sub=sub, stripe_sub=sub_id)
                record.nation_id = sub.nation_id
        record.save(update_fields=["outcome", "nation"])
        return record.outcome
