"""Payouts: a completed settlement's net leaves the merchant's ``available`` balance.

``payout_create`` (inside the settlement's transaction) posts ``available`` -net,
``payouts_in_transit`` +net (``payout:<po_id>``) at once, whether the payout is sent or waits
``on_hold`` behind an operator's hold: the funds are spoken for and no refund or transfer can
spend them meanwhile.
"""

from moneyed import Money

from accounts.models import AccountKind, TransactionKind
from accounts.services import PostingLine, ledger_post, merchant_account_get, platform_account_get
from paysys.audit.services import audit_record
from settlements.models import Payout, PayoutHold, Settlement


def _payout_audit(payout: Payout, previous: str) -> None:
    audit_record(
        event_type=f"payout.{payout.status}",
        object_type="payout",
        object_id=payout.public_id,
        previous_state=previous,
        new_state=payout.status,
        amount=payout.amount.amount,
        currency=payout.currency,
        merchant_id=payout.merchant.public_id,
        metadata={"settlement": payout.settlement.public_id},
    )


def payout_create(*, settlement: Settlement) -> Payout:
    """The payout of a completed settlement's (positive) net, in the caller's transaction."""
    merchant = settlement.merchant
    currency = settlement.currency
    held = PayoutHold.objects.filter(merchant=merchant, released_at__isnull=True).exists()
    payout = Payout(
        settlement=settlement,
        merchant=merchant,
        livemode=settlement.livemode,
        amount=settlement.net,
        status=Payout.Status.ON_HOLD if held else Payout.Status.PENDING,
    )
    available = merchant_account_get(
        merchant_id=merchant.public_id,
        kind=AccountKind.AVAILABLE,
        currency=currency,
        livemode=payout.livemode,
    )
    in_transit = platform_account_get(
        kind=AccountKind.PAYOUTS_IN_TRANSIT, currency=currency, livemode=payout.livemode
    )
    amount = Money(settlement.net.amount, currency)
    payout.transaction = ledger_post(
        reference=f"payout:{payout.public_id}",
        kind=TransactionKind.PAYOUT,
        lines=[PostingLine(available.pk, -amount), PostingLine(in_transit.pk, amount)],
        metadata={"payout": payout.public_id, "settlement": settlement.public_id},
        merchant_id=merchant.public_id,
    ).transaction
    payout.save()
    _payout_audit(payout, "")
    return payout
