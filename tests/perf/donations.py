"""Donations: Connect webhook events processed per second (signature check, the unique event id
insert, the gift marked paid, the donor upserted, all in one transaction), replays of the same
events (the unique-constraint dedupe alone), and the donation page's render time."""

from __future__ import annotations

import json
import time
import uuid

from django.db import connection
from django.test import Client, override_settings
from django_tenants.utils import schema_context

from .report import Report, percentile, summary_ms

EVENTS = 1000
SECRET = "whsec_bench_connect"


def _nation():
    from tenants.actions import Owner, nation_create
    from tenants.models import Nation

    nation = Nation.objects.filter(slug="bench-donations").first()
    if nation is None:
        nation = nation_create(
            name="Bench Donations",
            slug="bench-donations",
            country="FR",
            language="en",
            owner=Owner(full_name="B", email="bench-donations@example.org", password="x" * 12),
        )
    nation.currency = "EUR"
    nation.save(update_fields=["currency"])
    return nation


def bench_donations(report: Report) -> None:
    from config.stripe_server import sign
    from nations.donations.connect.models import ConnectedAccount, ConnectEvent
    from nations.donations.models import Donation
    from nations.site.actions import page_publish, page_save
    from nations.site.models import Page

    nation = _nation()
    account, _ = ConnectedAccount.objects.update_or_create(
        nation=nation,
        defaults={"account_id": "acct_bench_donations", "charges_enabled": True},
    )
    ConnectEvent.objects.filter(account_id=account.account_id).delete()
    with schema_context(nation.schema_name):
        Donation.objects.all().delete()
        page = Page.objects.filter(slug="give").first() or page_save(
            page=Page(),
            data={
                "title": "Give",
                "slug": "give",
                "kind": "donation",
                "amounts": [10, 25, 50],
                "goal": 10000,
            },
        )
        page_publish(page=page)
        gifts = Donation.objects.bulk_create(
            Donation(
                page=page,
                amount=2500,
                currency="EUR",
                email=f"donor{i}@bench.example",
                first_name="Donor",
                last_name=str(i),
                stripe_checkout_session_id=f"cs_bench_{i}",
            )
            for i in range(EVENTS)
        )
    deliveries = []
    for i, gift in enumerate(gifts):
        event = {
            "id": f"evt_bench_{uuid.uuid4().hex}",
            "object": "event",
            "type": "checkout.session.completed",
            "account": account.account_id,
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": f"cs_bench_{i}",
                    "object": "checkout.session",
                    "mode": "payment",
                    "status": "complete",
                    "payment_status": "paid",
                    "payment_intent": f"pi_bench_{i}",
                    "metadata": {"donation_key": str(gift.key)},
                    "customer_details": {"name": f"Donor {i}"},
                }
            },
        }
        payload = json.dumps(event)
        deliveries.append((payload, sign(payload, SECRET)))
    client = Client(HTTP_HOST="localhost")
    connection.set_schema_to_public()
    with override_settings(STRIPE_CONNECT_WEBHOOK_SECRET=SECRET, CELERY_TASK_ALWAYS_EAGER=False):
        from config.celery import app

        sent = app.Task.apply_async
        app.Task.apply_async = lambda *a, **k: None  # receipts are not what is measured here
        try:
            started = time.perf_counter()
            for payload, signature in deliveries:
                response = client.post(
                    "/donations/webhooks/stripe/",
                    payload,
                    content_type="application/json",
                    HTTP_STRIPE_SIGNATURE=signature,
                )
                assert response.json()["outcome"] == "processed", response.content
            first = time.perf_counter() - started
            started = time.perf_counter()
            for payload, signature in deliveries:
                response = client.post(
                    "/donations/webhooks/stripe/",
                    payload,
                    content_type="application/json",
                    HTTP_STRIPE_SIGNATURE=signature,
                )
                assert response.json()["outcome"] == "duplicate"
            replay = time.perf_counter() - started
        finally:
            app.Task.apply_async = sent
    with schema_context(nation.schema_name):
        assert Donation.objects.filter(status="paid").count() == EVENTS
    report.add(
        "donation_webhook_events_per_s",
        EVENTS / first,
        "events/s",
        events=EVENTS,
        what="checkout.session.completed through the Django stack, one at a time: signature, "
        "unique event insert, gift locked and paid, donor upserted, timeline, aggregates",
    )
    report.add(
        "donation_webhook_replays_per_s",
        EVENTS / replay,
        "events/s",
        what="the same events again: signature check + unique-constraint dedupe, nothing changes",
    )

    # Donation page render: a query string skips the site's page cache, so this is a real render.
    host = f"{nation.slug}.localhost"
    visitor = Client(HTTP_HOST=host)
    for _ in range(20):
        visitor.get("/give/?source=warm")
    samples = []
    for i in range(300):
        started = time.perf_counter()
        response = visitor.get(f"/give/?source=bench{i % 7}")
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200 and b'name="other_amount"' in response.content
    report.add(
        "donation_page_render_p50_ms",
        percentile(samples, 50) * 1000,
        "ms",
        p95_ms=round(percentile(samples, 95) * 1000, 1),
        **summary_ms(samples),
        what="GET /give/?source=… (uncached): theme render, form, goal progress from the gifts",
    )
    connection.set_schema_to_public()
