"""Reads of payments, payment methods, refunds, disputes and top-ups, always scoped to one merchant.

An object of another merchant is a ``NotFoundError`` identical to an unknown id (tenancy).
"""

from django.db.models import QuerySet

from payments.models import Dispute, Payment, PaymentMethod, ProcessorOperation, Refund, TopUp
from paysys.errors import NotFoundError

_PAYMENT_RELATED = ("merchant", "payment_method", "source_account")


def _missing(kind: str, public_id: str, param: str) -> NotFoundError:
    return NotFoundError(f"No such {kind}: '{public_id}'", param=param)


def payment_get(*, merchant_pk: int, payment_id: str) -> Payment:
    try:
        return Payment.objects.select_related(*_PAYMENT_RELATED).get(
            merchant_id=merchant_pk, public_id=payment_id
        )
    except Payment.DoesNotExist:
        raise _missing("payment", payment_id, "id") from None


def payment_list(*, merchant_pk: int) -> QuerySet[Payment]:
    return Payment.objects.filter(merchant_id=merchant_pk).select_related(*_PAYMENT_RELATED)


def payment_method_get(
    *, merchant_pk: int, payment_method_id: str, param: str = "payment_method"
) -> PaymentMethod:
    try:
        return PaymentMethod.objects.get(merchant_id=merchant_pk, public_id=payment_method_id)
    except PaymentMethod.DoesNotExist:
        raise _missing("payment method", payment_method_id, param) from None


def refund_get(*, merchant_pk: int, refund_id: str) -> Refund:
    try:
        return Refund.objects.select_related("payment").get(merchant_id=merchant_pk, public_id=refund_id)
    except Refund.DoesNotExist:
        raise _missing("refund", refund_id, "id") from None


def refund_list(*, merchant_pk: int) -> QuerySet[Refund]:
    return Refund.objects.filter(merchant_id=merchant_pk).select_related("payment")


def dispute_get(*, merchant_pk: int, dispute_id: str) -> Dispute:
    try:
        return Dispute.objects.select_related("payment").get(merchant_id=merchant_pk, public_id=dispute_id)
    except Dispute.DoesNotExist:
        raise _missing("dispute", dispute_id, "id") from None


def dispute_list(*, merchant_pk: int) -> QuerySet[Dispute]:
    return Dispute.objects.filter(merchant_id=merchant_pk).select_related("payment")


def processor_operations_pending(*, limit: int) -> list[ProcessorOperation]:
    """The oldest operations whose answer is unknown, for the resolver."""
    return list(
        ProcessorOperation.objects.filter(status=ProcessorOperation.OpStatus.PENDING).order_by("pk")[:limit]
    )


_TOP_UP_RELATED = ("account", "payment")


def top_up_get(*, merchant_pk: int, top_up_id: str) -> TopUp:
    try:
        return TopUp.objects.select_related(*_TOP_UP_RELATED).get(
            merchant_id=merchant_pk, public_id=top_up_id
        )
    except TopUp.DoesNotExist:
        raise _missing("top-up", top_up_id, "id") from None


def top_up_list(*, merchant_pk: int) -> QuerySet[TopUp]:
    return TopUp.objects.filter(merchant_id=merchant_pk).select_related(*_TOP_UP_RELATED)
