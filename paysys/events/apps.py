from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "paysys.events"
    label = "events"

    def ready(self) -> None:
        # Connects webhook fan-out to the outbox's after-commit signal.
        from paysys.events import webhook_receivers  # noqa: F401
