from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "nations.comms"
    label = "comms"
    verbose_name = "Communication"

    def ready(self) -> None:
        from . import webhooks  # noqa: F401 - connects anymail's tracking signal
