"""django-simple-history records carry the audit context.

A historical record made during an admin request already names its user (simple-history's
request middleware). Elsewhere (a Celery task queued by an operator, a service called under
``actor_scope``) the operator comes from the audit context, and every record without a change
reason gets ``<actor_type>:<actor_id> <correlation_id>``, so a history row of an API or system
change can be joined to its audit rows and logs.

``HistoricalRecords`` here is simple-history's with two changes for models saved on hot paths
(a transfer, a payment):

- lean history tables: a copied field keeps no index of its own except the object's ``id``
  (history is read per object, newest first, and by date), so a save does not maintain an
  index per foreign key and public id in the history table as well;
- ``Model.history`` builds its manager from a class made once. simple-history's descriptor
  calls ``Manager.from_queryset`` on every access, which creates a new class each time (about
  half a millisecond, paid by every save through ``create_historical_record``).
"""

from simple_history.manager import HistoryDescriptor
from simple_history.models import HistoricalRecords as _HistoricalRecords

from paysys.audit.context import ACTOR_OPERATOR, actor_get
from paysys.correlation import correlation_id_get

CHANGE_REASON_MAX_LENGTH = 100


def history_stamp() -> tuple[int | None, str]:
    """The user id (an operator's, else None) and change reason a history row gets now."""
    actor = actor_get()
    user_id = (
        int(actor.actor_id)
        if actor.actor_type == ACTOR_OPERATOR and (actor.actor_id or "").isdigit()
        else None
    )
    reason = f"{actor.actor_type}:{actor.actor_id or '-'} {correlation_id_get() or '-'}"
    return user_id, reason[:CHANGE_REASON_MAX_LENGTH]


def history_record_stamp(sender, history_instance, **kwargs) -> None:
    """``pre_create_historical_record`` receiver."""
    user_id, reason = history_stamp()
    if user_id is not None and getattr(history_instance, "history_user_id", None) is None:
        history_instance.history_user_id = user_id
    if not getattr(history_instance, "history_change_reason", None):
        history_instance.history_change_reason = reason


class _HistoryDescriptor(HistoryDescriptor):
    def __init__(self, model, manager, queryset):
        super().__init__(model, manager=manager, queryset=queryset)
        self.manager_with_queryset = manager.from_queryset(queryset)

    def __get__(self, instance, owner):
        return self.manager_with_queryset(self.model, instance)


class HistoricalRecords(_HistoricalRecords):
    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        descriptor = sender.__dict__.get(self.manager_name)
        if type(descriptor) is HistoryDescriptor:
            setattr(
                sender,
                self.manager_name,
                _HistoryDescriptor(descriptor.model, descriptor.manager_class, descriptor.queryset_class),
            )

    def copy_fields(self, model):
        fields = super().copy_fields(model)
        for name, field in fields.items():
            if name != model._meta.pk.name:
                field.db_index = False
        return fields
