"""Provider events through django-anymail: its webhook views (mounted at
/email/anymail/<esp>/tracking/ on the platform host) check the ESP's authentication (the
shared basic-auth secret ANYMAIL["WEBHOOK_SECRET"], plus the ESP's own signature where it has
one) and send the normalised `tracking` signal, handled here. The nation and delivery come from
the metadata we attached when sending (channels.DjangoBackendSender), or from our signed
Message-ID; each provider event id is recorded under a unique constraint, so replays are no-ops.
"""

from __future__ import annotations

import logging

from anymail.signals import tracking
from django.db import connection
from django.dispatch import receiver
from django_tenants.utils import schema_context

from .tokens import read_message_id

log = logging.getLogger(__name__)


def locate(event) -> tuple[str, int] | None:
    """(schema, delivery id) an anymail event is about, or None if it is not one of ours."""
    metadata = getattr(event, "metadata", None) or {}
    schema, delivery_id = metadata.get("nation"), metadata.get("delivery")
    if schema and str(delivery_id).isdigit():
        return str(schema), int(delivery_id)
    raw = getattr(event, "esp_event", None)
    headers = {}
    if isinstance(raw, dict):
        headers = (
            raw.get("message", {}).get("headers", {})
            if isinstance(raw.get("message"), dict)
            else {}
        )
    for candidate in (getattr(event, "message_id", None), headers.get("Message-ID")):
        if candidate:
            found = read_message_id(str(candidate))
            if found:
                return found
    return None


def apply_event(schema: str, delivery_id: int, event_type: str, *, detail: str, event_id) -> bool:
    """Apply one normalised event in the nation's schema. False if unknown or already seen."""
    from tenants.models import Nation

    from . import actions
    from .models import Delivery

    nation = Nation.objects.filter(schema_name=schema).first()
    if nation is None:
        return False
    with schema_context(schema):
        connection.set_tenant(nation)
        delivery = Delivery.objects.filter(pk=delivery_id).first()
        if delivery is None:
            return False
        if event_type == "bounced":
            return actions.delivery_bounced(
                delivery=delivery, hard=True, detail=detail, provider_event_id=event_id
            )
        if event_type == "deferred":
            return actions.delivery_bounced(
                delivery=delivery, hard=False, detail=detail, provider_event_id=event_id
            )
        if event_type == "complained":
            return actions.delivery_complained(
                delivery=delivery, detail=detail, provider_event_id=event_id
            )
        if event_type == "unsubscribed":
            return actions.unsubscribe(
                delivery=delivery, source="provider", provider_event_id=event_id
            )
        if event_type == "delivered":
            return actions.delivery_delivered(delivery=delivery, provider_event_id=event_id)
        if event_type == "opened":
            actions.delivery_opened(delivery=delivery)
            return True
    return False


@receiver(tracking, dispatch_uid="comms.tracking")
def on_tracking(sender, event, esp_name, **kwargs) -> None:
    found = locate(event)
    if found is None:
        log.info("anymail %s event for a message that is not ours", esp_name)
        return
    event_id = f"{esp_name}:{event.event_id}" if event.event_id else None
    detail = " ".join(
        str(x)
        for x in (event.reject_reason or "", event.description or "", event.mta_response or "")
        if x
    )
    apply_event(found[0], found[1], event.event_type, detail=detail[:300], event_id=event_id)
