"""Settlements' domain errors (under ``paysys.errors.PaysysError``)."""

from paysys.errors import ConflictError


class SettlementRunInProgressError(ConflictError):
    """Another settlement run holds the run lock: this one settles nothing."""

    default_code = "settlement_run_in_progress"


class PayoutStateError(ConflictError):
    """The payout's status does not allow the action."""

    default_code = "payout_unexpected_state"
