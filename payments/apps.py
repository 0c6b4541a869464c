from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from accounts.checks import ledger_check_register
        from payments.reconciliation import processor_breaks_check

        ledger_check_register(name="processor_breaks_unresolved", check=processor_breaks_check)
