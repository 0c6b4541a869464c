"""Settlements' writes, one module per use case; the public names are re-exported here."""

from settlements.services.payouts import (
    payout_create,
    payout_hold,
    payout_release,
    payout_send,
    payout_update,
    payouts_update,
)
from settlements.services.reconcile import settlement_batch_reconcile, settlement_break_resolve
from settlements.services.run import SettlementRunResult, settlement_period_end, settlement_run

__all__ = [
    "SettlementRunResult",
    "payout_create",
    "payout_hold",
    "payout_release",
    "payout_send",
    "payout_update",
    "payouts_update",
    "settlement_batch_reconcile",
    "settlement_break_resolve",
    "settlement_period_end",
    "settlement_run",
]
