from django.apps import AppConfig


class PanelConfig(AppConfig):
    name = "nations.panel"
    label = "panel"
