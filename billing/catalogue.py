"""The plan catalogue as code: what the first migration seeds and `billing_sync_stripe` pushes
to Stripe. Afterwards plans are data: the operator adds or retires them without a deploy."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

BASE_FEATURES = ["site", "people", "donations", "email", "api"]
ORGANIZER_FEATURES = BASE_FEATURES + ["sms", "automations", "custom_fields"]
CAMPAIGN_FEATURES = ORGANIZER_FEATURES + ["voice", "social", "webhooks"]
MOVEMENT_FEATURES = CAMPAIGN_FEATURES + ["priority_queue"]

FEATURE_LABELS = {
    "site": _("Website"),
    "people": _("Supporter base"),
    "donations": _("Donations"),
    "email": _("Email"),
    "api": _("API"),
    "sms": _("SMS"),
    "automations": _("Automations"),
    "custom_fields": _("Custom fields"),
    "voice": _("Voice"),
    "social": _("Social posts"),
    "webhooks": _("Webhooks"),
    "priority_queue": _("Priority sending queue"),
    "top_api_rate": _("Highest API rate"),
}

# code, name, monthly $, yearly $ per month, people, emails/month, SMS/month, staff, domains,
# features, API requests per minute. None = unlimited.
PLANS = [
    ("starter", "Starter", 29, 24, 2_500, 10_000, 0, 2, 1, BASE_FEATURES, 60),
    ("organizer", "Organizer", 99, 82, 15_000, 75_000, 500, 5, 3, ORGANIZER_FEATURES, 120),
    ("campaign", "Campaign", 349, 290, 75_000, 400_000, 2_500, 15, 10, CAMPAIGN_FEATURES, 300),
    (
        "movement",
        "Movement",
        1299,
        1079,
        400_000,
        2_000_000,
        10_000,
        50,
        25,
        MOVEMENT_FEATURES,
        600,
    ),
    (
        "nation",
        "Nation",
        5000,
        4150,
        2_000_000,
        10_000_000,
        50_000,
        None,
        None,
        MOVEMENT_FEATURES + ["top_api_rate"],
        3000,
    ),
]


def plan_rows() -> list[dict]:
    rows = []
    for position, spec in enumerate(PLANS):
        code, name, monthly, yearly_pm, people, emails, sms, staff, domains, features, rate = spec
        rows.append(
            {
                "code": code,
                "name": name,
                "position": position,
                "monthly_cents": monthly * 100,
                "yearly_cents": yearly_pm * 12 * 100,
                "people_limit": people,
                "emails_per_month": emails,
                "sms_per_month": sms,
                "staff_seats": staff,
                "custom_domains": domains,
                "features": list(features),
                "api_rate_per_minute": rate,
            }
        )
    return rows
