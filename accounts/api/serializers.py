"""How ledger objects look in the merchant API: amounts in minor units, currencies lower-case.

Transfers, which events carry too, are ``accounts.serializers``.

Entries and balance transactions have no random public id of their own (the entry table is
the ledger's hottest insert path and carries no extra unique index); their ids are derived
from the row: ``ent_`` / ``bt_`` followed by the row id in base 62. Lookups through them are
still scoped to the merchant's own accounts.
"""

import string
from datetime import timedelta

from moneyed import Money
from rest_framework import serializers

from paysys.api.fields import (
    CurrencyField,
    LowerCaseCurrencyField,
    MetadataField,
    MinorAmountField,
    ObjectSerializer,
    StrictIntegerField,
)
from paysys.money import money_to_minor

_BASE62 = string.digits + string.ascii_letters
ENTRY_PREFIX = "ent"
BALANCE_TRANSACTION_PREFIX = "bt"
MAX_DESCRIPTION_LENGTH = 500
# Journal transaction kinds as balance transaction types (a capture is a "charge" to merchants).
BALANCE_TRANSACTION_TYPES = {"capture": "charge"}
# Keys of a journal transaction's metadata naming the business object it books, in preference order.
SOURCE_METADATA_KEYS = ("transfer", "payment", "refund", "dispute", "settlement", "payout")


def row_id_encode(prefix: str, pk: int) -> str:
    digits = ""
    while True:
        pk, remainder = divmod(pk, 62)
        digits = _BASE62[remainder] + digits
        if pk == 0:
            return f"{prefix}_{digits}"


def row_id_decoder(prefix: str):
    def decode(public_id: str) -> int:
        head, _, digits = public_id.partition("_")
        if head != prefix or not digits or any(c not in _BASE62 for c in digits) or len(digits) > 12:
            raise ValueError(public_id)
        value = 0
        for char in digits:
            value = value * 62 + _BASE62.index(char)
        return value

    return decode


def _minor(amount, currency: str) -> int:
    return money_to_minor(Money(amount, currency))


# --- accounts --------------------------------------------------------------------------------


class AccountCreateInput(serializers.Serializer):
    currency = CurrencyField()
    metadata = MetadataField()


class AccountOutput(ObjectSerializer):
    object_name = "account"

    currency = LowerCaseCurrencyField(read_only=True)
    kind = serializers.CharField(help_text="wallet, or the merchant's own pending, available, reserve")
    status = serializers.ChoiceField(choices=["open", "frozen", "closed"])
    allow_negative = serializers.BooleanField(
        help_text="Whether the account may go below zero: an operator's decision, never set through the API."
    )
    balance = serializers.SerializerMethodField(help_text="Posted balance, minor units.")
    pending = serializers.SerializerMethodField(help_text="Held by open holds, minor units.")
    available = serializers.SerializerMethodField(help_text="balance - pending, minor units.")
    metadata = MetadataField()

    def get_balance(self, account) -> int:
        return _minor(account.posted, account.currency)

    def get_pending(self, account) -> int:
        return _minor(account.pending, account.currency)

    def get_available(self, account) -> int:
        return _minor(account.available, account.currency)


class EntryOutput(ObjectSerializer):
    object_name = "ledger_entry"

    id = serializers.SerializerMethodField()
    transaction = serializers.CharField(
        source="transaction.public_id", help_text="The journal transaction, txn_..."
    )
    amount = serializers.SerializerMethodField(help_text="Signed minor units: + credit, - debit.")
    currency = LowerCaseCurrencyField(read_only=True)
    balance_after = serializers.SerializerMethodField(allow_null=True)
    type = serializers.CharField(source="transaction.kind")
    description = serializers.CharField(source="transaction.description")

    def get_id(self, entry) -> str:
        return row_id_encode(ENTRY_PREFIX, entry.pk)

    def get_amount(self, entry) -> int:
        return _minor(entry.amount, entry.currency)

    def get_balance_after(self, entry) -> int | None:
        return None if entry.balance_after is None else _minor(entry.balance_after, entry.currency)


# --- transfers -------------------------------------------------------------------------------


class TransferCreateInput(serializers.Serializer):
    from_account = serializers.CharField(min_length=1, max_length=40)
    to_account = serializers.CharField(min_length=1, max_length=40)
    amount = StrictIntegerField(min_value=1)
    currency = CurrencyField()
    description = serializers.CharField(
        max_length=MAX_DESCRIPTION_LENGTH, required=False, default="", allow_blank=True
    )
    metadata = MetadataField()


# --- balance -----------------------------------------------------------------------------------


# A ``Money``: minor units and the lower-case code.
class BalanceAmountOutput(serializers.Serializer):
    amount = MinorAmountField(currency="currency.code")
    currency = LowerCaseCurrencyField(source="currency.code")


class BalanceOutput(serializers.Serializer):
    object = serializers.CharField(help_text="Always `balance`.")
    livemode = serializers.BooleanField()
    available = BalanceAmountOutput(many=True)
    pending = BalanceAmountOutput(many=True)
    reserved = BalanceAmountOutput(many=True)


class BalanceTransactionOutput(ObjectSerializer):
    object_name = "balance_transaction"

    id = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField(help_text="Gross: net + fee, signed minor units.")
    fee = serializers.SerializerMethodField(help_text="Fee charged with this movement, minor units.")
    net = serializers.SerializerMethodField(
        help_text="What the merchant's balance moved, signed minor units."
    )
    currency = LowerCaseCurrencyField(read_only=True)
    type = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField(help_text="The object that caused the movement.")
    status = serializers.SerializerMethodField(help_text="pending, available or reserved")
    available_on = serializers.SerializerMethodField()
    transaction = serializers.CharField(source="transaction.public_id")
    description = serializers.CharField(source="transaction.description")

    def get_id(self, entry) -> str:
        return row_id_encode(BALANCE_TRANSACTION_PREFIX, entry.pk)

    def get_fee(self, entry) -> int:
        return _minor(entry.fee_amount, entry.currency)

    def get_net(self, entry) -> int:
        return _minor(entry.amount, entry.currency)

    def get_amount(self, entry) -> int:
        return _minor(entry.amount + entry.fee_amount, entry.currency)

    def get_type(self, entry) -> str:
        return BALANCE_TRANSACTION_TYPES.get(entry.transaction.kind, entry.transaction.kind)

    def get_source(self, entry) -> str:
        metadata = entry.transaction.metadata or {}
        for key in SOURCE_METADATA_KEYS:
            if isinstance(metadata.get(key), str):
                return metadata[key]
        return entry.transaction.public_id

    def get_status(self, entry) -> str:
        return "reserved" if entry.account.kind == "reserve" else entry.account.kind

    def get_available_on(self, entry) -> str:
        """When funds on ``pending`` settle (after the merchant's delay); others are available at once."""
        delay = self.context.get("settlement_delay_days", 1) if entry.account.kind == "pending" else 0
        return (entry.created + timedelta(days=delay)).date().isoformat()
