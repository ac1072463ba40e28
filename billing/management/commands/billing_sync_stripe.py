"""Push the plan catalogue to Stripe (products and prices); safe to run any number of times."""

from django.core.management.base import BaseCommand, CommandError

from billing.actions import catalogue_sync
from billing.stripe_client import BillingNotConfigured


class Command(BaseCommand):
    help = "Create or update the Stripe products and prices of every plan."

    def handle(self, *args, **options):
        try:
            report = catalogue_sync()
        except BillingNotConfigured as exc:
            raise CommandError("STRIPE_SECRET_KEY is not set.") from exc
        for line in report:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("plans synced to Stripe"))
