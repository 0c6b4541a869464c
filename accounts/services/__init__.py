"""The ledger's writes, by use case: ``posting`` (``ledger_post``, the one writer of entries and
balances, through the database function of the same name), ``transfers``, ``holds``,
``accounts`` (open, freeze, close) and ``verification``. ``unit_of_work`` owns transactions and
their retry; ``accounts.ledger_sql`` holds every statement. The names callers use are here."""

from accounts.services.accounts import (
    account_close,
    account_freeze,
    account_open,
    account_unfreeze,
    merchant_account_get,
    merchant_accounts_open,
    platform_account_get,
)
from accounts.services.holds import hold_capture, hold_place, hold_release, holds_expire
from accounts.services.posting import (
    PostingLine,
    PostingResult,
    account_shards_lock,
    accounts_lock,
    ledger_post,
    ledger_reverse,
)
from accounts.services.transfers import (
    transfer_create,
    transfer_lock,
    transfer_object,
    transfer_reverse,
)
from accounts.services.unit_of_work import ledger_atomic
from accounts.services.verification import ledger_verify

__all__ = [
    "PostingLine",
    "PostingResult",
    "account_close",
    "account_freeze",
    "account_open",
    "account_shards_lock",
    "account_unfreeze",
    "accounts_lock",
    "hold_capture",
    "hold_place",
    "hold_release",
    "holds_expire",
    "ledger_atomic",
    "ledger_post",
    "ledger_reverse",
    "ledger_verify",
    "merchant_account_get",
    "merchant_accounts_open",
    "platform_account_get",
    "transfer_create",
    "transfer_lock",
    "transfer_object",
    "transfer_reverse",
]
