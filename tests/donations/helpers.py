from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.test import Client
from django_tenants.utils import schema_context

from nations.donations.actions import connect_start
from nations.donations.connect.models import ConnectedAccount
from nations.site.actions import page_publish, page_save
from nations.site.models import Page


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def connect_nation(connect, nation, *, currency: str | None = None) -> ConnectedAccount:
    """Onboard the nation's Stripe account through account links and the hosted page."""
    if currency:
        nation.currency = currency
        nation.save(update_fields=["currency"])
    url = connect_start(
        nation=nation,
        return_url=f"http://{nation.slug}.localhost/panel/donations/connect/return/",
        refresh_url=f"http://{nation.slug}.localhost/panel/donations/connect/return/?refresh=1",
    )
    status, location = connect.submit(url, {"business_name": nation.name})
    assert status == 303, location
    results = connect.deliver()
    assert ("account.updated", 200, {"received": True, "outcome": "processed"}) in results
    return ConnectedAccount.objects.get(nation=nation)


def donation_page(nation, *, slug="give", goal=None, amounts=(10, 25, 50)) -> Page:
    with schema_context(nation.schema_name):
        page = page_save(
            page=Page(),
            data={
                "title": "Give",
                "slug": slug,
                "kind": "donation",
                "amounts": list(amounts),
                "goal": goal,
            },
        )
        page_publish(page=page)
        return page


def gift_data(**values) -> dict:
    data = {
        "amount": "25",
        "other_amount": "",
        "frequency": "",
        "first_name": "Zoé",
        "last_name": "Martin",
        "email": "zoe@example.org",
        "address1": "1 rue de la Paix",
        "postal_code": "75002",
        "city": "Paris",
        "nonce": "nonce-1",
        "source": "",
    }
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def give(client: Client, slug: str, data: dict):
    """POST the donation form; returns the response (303 to Checkout when accepted)."""
    return client.post(f"/{slug}/donate/", data)


def pay(connect, checkout_url: str, card: str = "4242424242424242", email="zoe@example.org"):
    return connect.submit(
        checkout_url, {"email": email, "card_number": card, "exp": "12 / 34", "name": "Zoé Martin"}
    )


def errors_in(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())
