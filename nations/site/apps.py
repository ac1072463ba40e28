from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "nations.site"
    label = "site"
