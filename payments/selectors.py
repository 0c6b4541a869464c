"""Reads of payments, payment methods, refunds, disputes and top-ups, always scoped to one tenant: one
merchant in one mode (``paysys.tenancy``).

An object of another merchant, or of the same merchant in the other mode, is a
``NotFoundError`` identical to an unknown id.
"""

from django.db.models import QuerySet

from payments.models import Dispute, Payment, PaymentMethod, ProcessorOperation, Refund, TopUp
from paysys.errors import NotFoundError
from paysys.tenancy import Tenant

_PAYMENT_RELATED = ("merchant", "payment_method", "source_account")


def _missing(kind: str, public_id: str, param: str) -> NotFoundError:
    return NotFoundError(f"No such {kind}: '{public_id}'", param=param)


def payment_get(*, tenant: Tenant, payment_id: str) -> Payment:
    try:
        return payment_list(tenant=tenant).get(public_id=payment_id)
    except Payment.DoesNotExist:
        raise _missing("payment", payment_id, "id") from None


def payment_list(*, tenant: Tenant) -> QuerySet[Payment]:
    return tenant.scope(Payment.objects.all()).select_related(*_PAYMENT_RELATED)


def payment_method_get(
    *, tenant: Tenant, payment_method_id: str, param: str = "payment_method"
) -> PaymentMethod:
    try:
        return tenant.scope(PaymentMethod.objects.all()).get(public_id=payment_method_id)
    except PaymentMethod.DoesNotExist:
        raise _missing("payment method", payment_method_id, param) from None


def refund_get(*, tenant: Tenant, refund_id: str) -> Refund:
    try:
        return refund_list(tenant=tenant).get(public_id=refund_id)
    except Refund.DoesNotExist:
        raise _missing("refund", refund_id, "id") from None


def refund_list(*, tenant: Tenant) -> QuerySet[Refund]:
    return tenant.scope(Refund.objects.all()).select_related("payment")


def dispute_get(*, tenant: Tenant, dispute_id: str) -> Dispute:
    try:
        return dispute_list(tenant=tenant).get(public_id=dispute_id)
    except Dispute.DoesNotExist:
        raise _missing("dispute", dispute_id, "id") from None


def dispute_list(*, tenant: Tenant) -> QuerySet[Dispute]:
    return tenant.scope(Dispute.objects.all()).select_related("payment")


def processor_operations_pending(*, limit: int) -> list[ProcessorOperation]:
    """The oldest operations whose answer is unknown, for the resolver."""
    return list(
        ProcessorOperation.objects.filter(status=ProcessorOperation.OpStatus.PENDING)
        .select_related("payment")  # its mode picks the processor to ask
        .order_by("pk")[:limit]
    )


_TOP_UP_RELATED = ("account", "payment")


def top_up_get(*, tenant: Tenant, top_up_id: str) -> TopUp:
    try:
        return top_up_list(tenant=tenant).get(public_id=top_up_id)
    except TopUp.DoesNotExist:
        raise _missing("top-up", top_up_id, "id") from None


def top_up_list(*, tenant: Tenant) -> QuerySet[TopUp]:
    return tenant.scope(TopUp.objects.all()).select_related(*_TOP_UP_RELATED)
