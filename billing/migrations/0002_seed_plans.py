"""Seed the plan catalogue (billing/catalogue.py) and give every existing nation a trial."""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

# Frozen copy of the launch catalogue: later changes to billing/catalogue.py are data changes
# (billing_sync_stripe, the operator), not this migration's business.
PLANS = [
    ("starter", "Starter", 29, 24, 2_500, 10_000, 0, 2, 1, 60),
    ("organizer", "Organizer", 99, 82, 15_000, 75_000, 500, 5, 3, 120),
    ("campaign", "Campaign", 349, 290, 75_000, 400_000, 2_500, 15, 10, 300),
    ("movement", "Movement", 1299, 1079, 400_000, 2_000_000, 10_000, 50, 25, 600),
    ("nation", "Nation", 5000, 4150, 2_000_000, 10_000_000, 50_000, None, None, 3000),
]
BASE = ["site", "people", "donations", "email", "api"]
FEATURES = {
    "starter": BASE,
    "organizer": BASE + ["sms", "automations", "custom_fields"],
    "campaign": BASE + ["sms", "automations", "custom_fields", "voice", "social", "webhooks"],
    "movement": BASE
    + ["sms", "automations", "custom_fields", "voice", "social", "webhooks", "priority_queue"],
    "nation": BASE
    + ["sms", "automations", "custom_fields", "voice", "social", "webhooks", "priority_queue",
       "top_api_rate"],
}


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    Subscription = apps.get_model("billing", "Subscription")
    Nation = apps.get_model("tenants", "Nation")
    for position, spec in enumerate(PLANS):
        code, name, monthly, yearly_pm, people, emails, sms, staff, domains, rate = spec
        Plan.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "position": position,
                "monthly_cents": monthly * 100,
                "yearly_cents": yearly_pm * 12 * 100,
                "people_limit": people,
                "emails_per_month": emails,
                "sms_per_month": sms,
                "staff_seats": staff,
                "custom_domains": domains,
                "features": FEATURES[code],
                "api_rate_per_minute": rate,
            },
        )
    now = timezone.now()
    plans = {p.code: p for p in Plan.objects.all()}
    for nation in Nation.objects.exclude(schema_name="public"):
        Subscription.objects.get_or_create(
            nation=nation,
            defaults={
                "plan": plans.get(nation.plan, plans["starter"]),
                "status": "trialing",
                "trial_ends_at": now + timedelta(days=14),
                "billing_anchor": now,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
