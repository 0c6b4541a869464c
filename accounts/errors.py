"""Ledger-specific errors, each a subclass of the project's ``paysys.errors`` hierarchy."""

from paysys.errors import ConflictError, InvalidRequestError, PermissionDeniedError, ServiceUnavailableError


class UnbalancedPostingError(InvalidRequestError):
    """The lines of a posting do not sum to zero per currency (a programming error upstream)."""

    default_code = "unbalanced_posting"


class CurrencyMismatchError(InvalidRequestError):
    default_code = "currency_mismatch"


class LivemodeMismatchError(InvalidRequestError):
    """A posting's accounts are not all of one mode: test money never meets live money."""

    default_code = "livemode_mismatch"


class ReferenceConflictError(ConflictError):
    """A posting reuses the reference of an existing transaction with different content."""

    default_code = "reference_conflict"


class HoldStateError(ConflictError):
    default_code = "hold_unexpected_state"


class TransferReversedError(ConflictError):
    default_code = "transfer_already_reversed"


class AccountNotEmptyError(ConflictError):
    """An account with a balance or open holds cannot be closed."""

    default_code = "account_not_empty"


class LedgerBusyError(ServiceUnavailableError):
    """Deadlock or serialization failures persisted past the bounded retries; nothing was posted."""

    default_code = "ledger_busy"


class OverdraftFundingError(InvalidRequestError):
    """Money from an account that may go negative and is not the platform's was to credit an
    account a merchant owns: that would let a merchant create money out of an overdraft."""

    default_code = "overdraft_not_transferable"


class AccountOverdrawnError(ConflictError):
    """Overdraft cannot be withdrawn from an account that is below zero."""

    default_code = "account_overdrawn"


class AdjustmentStateError(ConflictError):
    """An adjustment is decided once: approving or rejecting one already decided is refused."""

    default_code = "adjustment_already_decided"


class AdjustmentOwnDecisionError(PermissionDeniedError):
    """Maker-checker: the operator who proposed an adjustment never approves or rejects it."""

    default_code = "adjustment_own_decision"
