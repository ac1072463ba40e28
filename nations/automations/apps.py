from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "nations.automations"
    label = "automations"
    verbose_name = "Automations"
