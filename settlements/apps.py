from django.apps import AppConfig


class SettlementsConfig(AppConfig):
    name = "settlements"

    def ready(self) -> None:
        from accounts.checks import ledger_check_register
        from settlements.services.reconcile import settlement_breaks_check

        ledger_check_register(name="settlement_breaks_unresolved", check=settlement_breaks_check)
