"""The Connect webhook (platform host, public schema): every event of the nations' Stripe
accounts. Verify the signature on the raw body; insert the event id under a unique constraint
in the same transaction as its effects (a replay, even a concurrent one, finds the row and
changes nothing); find the nation by the event's `account`; apply the event in its schema.

Outcomes (JSON `outcome`; 200 unless the signature or payload is bad): processed, duplicate,
ignored (a type we do not act on, or nothing of ours named in it), unknown_account."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import stripe
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_tenants.utils import schema_context

from . import actions
from .connect.models import ConnectedAccount, ConnectEvent

log = logging.getLogger(__name__)


def _apply(event_type: str, obj: dict) -> bool:
    """Apply one event in the nation's schema; False when it names nothing of ours."""
    if event_type in (
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.expired",
    ):
        return actions.checkout_converge(session=obj) is not None
    if event_type in ("invoice.paid", "invoice.payment_succeeded"):
        return actions.invoice_paid(invoice=obj) is not None
    if event_type == "invoice.payment_failed":
        return actions.invoice_failed(invoice=obj) is not None
    if event_type == "invoice.created":
        return actions.invoice_created(invoice=obj) is not None
    if event_type.startswith("customer.subscription."):
        return actions.subscription_apply(subscription=obj) is not None
    if event_type == "charge.refunded":
        return actions.charge_refunded(charge=obj) is not None
    if event_type.startswith("charge.dispute."):
        return actions.dispute_apply(dispute=obj) is not None
    return False


HANDLED_PREFIXES = (
    "checkout.session.",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.created",
    "customer.subscription.",
    "charge.refunded",
    "charge.dispute.",
)


def process_event(event: dict) -> str:
    """Apply one verified event, once."""
    account_id = event.get("account") or ""
    event_type = event.get("type", "")
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = ConnectEvent.objects.create(
                    event_id=event["id"],
                    type=event_type[:64],
                    account_id=account_id[:64],
                    created=datetime.fromtimestamp(int(event.get("created") or 0), UTC),
                    outcome=ConnectEvent.Outcome.PROCESSED,
                )
        except IntegrityError:
            return "duplicate"
        account = (
            ConnectedAccount.objects.select_related("nation").filter(account_id=account_id).first()
            if account_id
            else None
        )
        obj = (event.get("data") or {}).get("object") or {}
        if account is None:
            log.warning("connect event %s (%s) for an unknown account", event["id"], event_type)
            record.outcome = ConnectEvent.Outcome.UNKNOWN_ACCOUNT
        elif event_type == "account.updated":
            actions.account_apply(account_id=account_id, data=obj)
        elif not event_type.startswith(HANDLED_PREFIXES):
            record.outcome = ConnectEvent.Outcome.IGNORED
        else:
            with schema_context(account.nation.schema_name):
                connection.tenant = account.nation
                if not _apply(event_type, obj):
                    record.outcome = ConnectEvent.Outcome.IGNORED
        if account is not None:
            record.nation_id = account.nation_id
        record.save(update_fields=["outcome", "nation"])
        return record.outcome


@csrf_exempt
@require_POST
def connect_webhook(request):
    secret = settings.STRIPE_CONNECT_WEBHOOK_SECRET
    if not secret:
        return HttpResponse("webhooks are not configured", status=503, content_type="text/plain")
    try:
        payload = request.body.decode("utf-8")
        stripe.WebhookSignature.verify_header(
            payload, request.META.get("HTTP_STRIPE_SIGNATURE", ""), secret, 300
        )
        import json

        event = json.loads(payload)
        if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
            raise ValueError("not an event")
    except (ValueError, UnicodeDecodeError, stripe.SignatureVerificationError):
        log.warning("connect webhook with a bad signature or payload refused")
        return HttpResponseBadRequest("invalid signature", content_type="text/plain")
    return JsonResponse({"received": True, "outcome": process_event(event)})
