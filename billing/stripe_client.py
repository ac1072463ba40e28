"""The one way to reach Stripe: the official SDK, pointed at the local Stripe server when
STRIPE_API_BASE is set (tests, `make run` without keys), at Stripe otherwise."""

from __future__ import annotations

import stripe
from django.conf import settings


class BillingNotConfigured(Exception):
    """No Stripe key: payments cannot be taken on this installation."""


def stripe_client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise BillingNotConfigured
    options = {}
    if settings.STRIPE_API_BASE:
        options["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, max_network_retries=2, **options)
