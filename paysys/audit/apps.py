from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def _chain_heads_create(sender, using, apps=global_apps, **kwargs) -> None:
    """Every chain head exists once the tables do (after ``migrate``, and after ``flush``)."""
    try:
        head_model = apps.get_model("audit", "AuditChainHead")
    except LookupError:  # migrated backwards past the table
        return
    from paysys.audit.models import AUDIT_CHAIN_COUNT, GENESIS_HASH

    head_model.objects.using(using).bulk_create(
        [head_model(chain=c, seq=0, hash=GENESIS_HASH) for c in range(AUDIT_CHAIN_COUNT)],
        ignore_conflicts=True,
    )


class AuditConfig(AppConfig):
    name = "paysys.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from simple_history.signals import pre_create_historical_record

        from paysys.audit.history import history_record_stamp

        pre_create_historical_record.connect(history_record_stamp, dispatch_uid="paysys.audit.history")
        post_migrate.connect(_chain_heads_create, sender=self, dispatch_uid="paysys.audit.chain_heads")
