"""django-simple-history records carry the audit context.

A historical record made during an admin request already names its user (simple-history's
request middleware). Elsewhere (a Celery task queued by an operator, a service called under
``actor_scope``) the operator comes from the audit context, and every record without a change
reason gets ``<actor_type>:<actor_id> <correlation_id>``, so a history row of an API or system
change can be joined to its audit rows and logs.
"""

from paysys.audit.context import ACTOR_OPERATOR, actor_get
from paysys.correlation import correlation_id_get

CHANGE_REASON_MAX_LENGTH = 100


def history_record_stamp(sender, history_instance, **kwargs) -> None:
    """``pre_create_historical_record`` receiver."""
    actor = actor_get()
    if (
        actor.actor_type == ACTOR_OPERATOR
        and actor.actor_id
        and actor.actor_id.isdigit()
        and getattr(history_instance, "history_user_id", None) is None
    ):
        history_instance.history_user_id = int(actor.actor_id)
    if not getattr(history_instance, "history_change_reason", None):
        reason = f"{actor.actor_type}:{actor.actor_id or '-'} {correlation_id_get() or '-'}"
        history_instance.history_change_reason = reason[:CHANGE_REASON_MAX_LENGTH]
