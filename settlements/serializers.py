"""Settlements, their lines and payouts as the API shows them: one rendering for responses,
event payloads and the CSV export.

Amounts in the currency's minor unit, currencies in lower case, times in ISO 8601 UTC. The
services put the same serializers' output into their events (``{"object":
settlement_object(s)}``), so a webhook shows what ``GET`` would have shown at that moment.
"""

from typing import Any

from rest_framework import serializers

from paysys.api.fields import BlankAsNullCharField, LowerCaseCurrencyField, MinorAmountField, ObjectNameField
from settlements.models import LineType, Payout, Settlement, SettlementLine

# A line's id: its row, with a prefix (lines are many and have no random public id).
LINE_ID_PREFIX = "sl"


def line_id(pk: int) -> str:
    return f"{LINE_ID_PREFIX}_{pk}"


def line_pk(public_id: str) -> int:
    """The row of a line id; ``ValueError`` for anything else."""
    prefix, _, digits = public_id.partition("_")
    if prefix != LINE_ID_PREFIX or not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        raise ValueError(public_id)
    return int(digits)


class LineIdField(serializers.CharField):
    """A line's id (``line_id``) from its row's primary key."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(source="pk", **kwargs)

    def to_representation(self, value: int) -> str:
        return line_id(value)


class SettlementOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = ObjectNameField("settlement")
    gross = MinorAmountField(help_text="Sales less split transfers, before fees (minor units).")
    fees = MinorAmountField()
    refunds = MinorAmountField()
    disputes = MinorAmountField(help_text="Disputed amounts and dispute fees, less disputes won.")
    adjustments = MinorAmountField()
    reserve_withheld = MinorAmountField()
    reserve_released = MinorAmountField()
    net = MinorAmountField(
        help_text="gross - fees - refunds - disputes + adjustments - reserve_withheld + reserve_released; "
        "negative when `carried_forward`."
    )
    currency = LowerCaseCurrencyField()
    count = serializers.IntegerField(help_text="Payments, refunds, disputes and fees settled.")
    period_end = serializers.DateTimeField(help_text="What was booked before this instant is in it.")
    date = serializers.DateField(source="batch.date", help_text="The run date.")
    status = serializers.ChoiceField(choices=Settlement.Status.values)
    payout = serializers.CharField(source="payout.public_id", allow_null=True)
    created = serializers.DateTimeField()
    livemode = serializers.BooleanField()


class SettlementLineOutput(serializers.Serializer):
    id = LineIdField()
    object = ObjectNameField("settlement_line")
    type = serializers.ChoiceField(choices=LineType.values)
    source = serializers.CharField(help_text="The payment, refund, dispute or settlement it books.")
    transaction = serializers.CharField(
        source="transaction.public_id", help_text="The ledger transaction (`txn_`) it came from."
    )
    amount = MinorAmountField(help_text="Signed: + to you, - from you (minor units).")
    fee = MinorAmountField()
    gross = MinorAmountField(help_text="amount + fee.")
    currency = LowerCaseCurrencyField()
    created = serializers.DateTimeField()


class PayoutOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = ObjectNameField("payout")
    amount = MinorAmountField()
    currency = LowerCaseCurrencyField()
    status = serializers.ChoiceField(choices=Payout.Status.values)
    arrival_date = serializers.DateField(allow_null=True)
    settlement = serializers.CharField(source="settlement.public_id")
    failure_code = BlankAsNullCharField()
    created = serializers.DateTimeField()
    livemode = serializers.BooleanField()


# One instance of each renders every event payload and CSV row: binding a serializer's fields
# (DRF deep-copies them for every new instance) costs about ten times the rendering, and
# ``to_representation`` keeps no state between objects.
_SETTLEMENT = SettlementOutput()
_SETTLEMENT_LINE = SettlementLineOutput()
_PAYOUT = PayoutOutput()


def settlement_object(settlement: Settlement) -> dict[str, Any]:
    return _SETTLEMENT.to_representation(settlement)


def settlement_line_object(line: SettlementLine) -> dict[str, Any]:
    return _SETTLEMENT_LINE.to_representation(line)


def payout_object(payout: Payout) -> dict[str, Any]:
    return _PAYOUT.to_representation(payout)
