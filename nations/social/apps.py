from django.apps import AppConfig


class SocialConfig(AppConfig):
    name = "nations.social"
    label = "social"
    verbose_name = "Social posts"
