from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from billing.models import Plan, Subscription


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def subscribe(stripe, owner_client, nation, plan_code: str = "starter", interval: str = "month"):
    """Owner subscribes through Checkout on the local Stripe server; returns the Subscription."""
    plan = Plan.objects.get(code=plan_code)
    response = owner_client.post(
        "/panel/settings/billing/checkout/", {"price": plan.price_id(interval)}
    )
    assert response.status_code == 303, response
    status, location = stripe.pay(response["Location"])
    assert status == 303, location
    back = owner_client.get(local_path(location))
    assert back.status_code == 302
    return Subscription.objects.select_related("plan").get(nation=nation)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
