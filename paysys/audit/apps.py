from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "paysys.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from simple_history.signals import pre_create_historical_record

        from paysys.audit.history import history_record_stamp

        pre_create_historical_record.connect(history_record_stamp, dispatch_uid="paysys.audit.history")
