from django.apps import AppConfig


class DonationsConfig(AppConfig):
    name = "nations.donations"
    label = "donations"
