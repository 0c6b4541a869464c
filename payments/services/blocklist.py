"""The risk blocklist's writes: an operator adds an entry or removes one, with a reason.

A value is stored as risk matches it (``payments.risk.blocklist_value_normalize``), so an entry
typed ``Fraud@Example.com `` catches ``fraud@example.com``. Each write leaves an audit row naming
the operator and the reason; the row names the entry by id and kind, not by value (an e-mail or
an IP address is personal data, and the audit log is append-only; the entry's history keeps the
value). A removed entry is deleted: its history records the removal and its reason.
"""

from django.db import transaction

from payments.models import BlocklistEntry
from payments.risk import blocklist_value_normalize
from paysys.audit.context import ACTOR_OPERATOR
from paysys.audit.services import audit_record
from paysys.errors import ConflictError, InvalidRequestError, NotFoundError

BLOCKLIST_REASON_MAX_LENGTH = 255


def _reason_check(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequestError("A blocklist change needs a reason.", param="reason")
    return reason[:BLOCKLIST_REASON_MAX_LENGTH]


def _blocklist_audit(entry: BlocklistEntry, event: str, *, reason: str, operator_id: str) -> None:
    audit_record(
        event_type=f"blocklist.entry_{event}",
        object_type="blocklist_entry",
        object_id=str(entry.pk),
        previous_state="" if event == "added" else "listed",
        new_state="listed" if event == "added" else "removed",
        actor_type=ACTOR_OPERATOR,
        actor_id=operator_id,
        reason_code=f"blocklist_{event}",
        metadata={"kind": entry.kind, "reason": reason},
    )


@transaction.atomic
def blocklist_entry_add(*, kind: str, value: str, reason: str, operator_id: str) -> BlocklistEntry:
    """Put a card fingerprint, an IP address or an e-mail address on the blocklist."""
    reason = _reason_check(reason)
    value = blocklist_value_normalize(kind=kind, value=value)
    entry, created = BlocklistEntry.objects.get_or_create(kind=kind, value=value, defaults={"reason": reason})
    if not created:
        raise ConflictError(f"This {kind} is already on the blocklist.", param="value")
    _blocklist_audit(entry, "added", reason=reason, operator_id=operator_id)
    return entry


@transaction.atomic
def blocklist_entry_remove(*, entry_id: int, reason: str, operator_id: str) -> None:
    """Take an entry off the blocklist: payments it named are no longer scored for it."""
    reason = _reason_check(reason)
    entry = BlocklistEntry.objects.select_for_update().filter(pk=entry_id).first()
    if entry is None:
        raise NotFoundError(f"No such blocklist entry: {entry_id}.", param="entry")
    _blocklist_audit(entry, "removed", reason=reason, operator_id=operator_id)
    entry._change_reason = reason
    entry.delete()
