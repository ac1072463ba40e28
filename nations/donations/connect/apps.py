from django.apps import AppConfig


class ConnectConfig(AppConfig):
    """The public-schema half of donations: which Stripe account is whose, and the Connect
    webhook's event log. Shared app (public schema), so a webhook on the platform host can find
    the nation an event belongs to before entering its schema."""

    name = "nations.donations.connect"
    label = "donations_connect"
