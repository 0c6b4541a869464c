from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    name = "paysys.idempotency"
    label = "idempotency"
