"""URLs of the platform's own host (public schema): signup, accounts, operator console."""

from django.urls import include, path
from django.views.i18n import set_language

from billing.webhooks import stripe_webhook
from nations.donations.webhooks import connect_webhook
from tenants.urls import operator_patterns

urlpatterns = [
    path("i18n/setlang/", set_language, name="set_language"),
    path("billing/webhooks/stripe/", stripe_webhook, name="stripe_webhook"),
    path("donations/webhooks/stripe/", connect_webhook, name="connect_webhook"),
    path("email/anymail/", include("anymail.urls")),  # ESP webhooks (nations/comms/webhooks.py)
    path("operator/billing/", include("billing.urls_operator")),
    path("operator/", include(operator_patterns)),
    path("", include("tenants.urls")),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
