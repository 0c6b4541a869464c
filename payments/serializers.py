"""The payment objects as the API shows them: one rendering for responses and event payloads.

Amounts leave as integers in the currency's minor unit (``paysys.money``), currencies in lower
case, times in ISO 8601 UTC, text a merchant left out as ``null``. The services put the same
serializers' output into their events (``{"object": payment_object(payment)}``), so a webhook
shows exactly what ``GET`` would have shown at that moment. What the write endpoints accept is
``payments.api.serializers``.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments.models import Dispute, Payment, Refund, TopUp
from payments.states import Status
from paysys.api.fields import (
    BlankAsNullCharField,
    LowerCaseCurrencyField,
    MetadataField,
    MinorAmountField,
    ObjectNameField,
)


class CardOutput(serializers.Serializer):
    brand = serializers.CharField()
    last4 = serializers.CharField()
    exp_month = serializers.IntegerField()
    exp_year = serializers.IntegerField()
    fingerprint = serializers.CharField()


class PaymentMethodOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = ObjectNameField("payment_method")
    type = serializers.ChoiceField(choices=["card"])
    card = CardOutput(source="*")
    created = serializers.DateTimeField()
    livemode = serializers.BooleanField()


class PaymentMethodSummaryOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    type = serializers.ChoiceField(choices=["card"])
    card = CardOutput(source="*")


class TransferDataOutput(serializers.Serializer):
    destination = serializers.CharField()
    amount = MinorAmountField()


@extend_schema_field(TransferDataOutput(many=True))
class TransferDataField(serializers.Field):
    """A payment's split transfers; stored with decimal amounts, shown in its currency's minor unit."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(source="*", **kwargs)
        self.items = TransferDataOutput(many=True)

    def to_representation(self, payment: Payment) -> list:
        return self.items.to_representation(
            [{**item, "currency": payment.currency} for item in payment.transfer_data]
        )


class PaymentOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = ObjectNameField("payment")
    amount = MinorAmountField()
    amount_capturable = MinorAmountField()
    amount_captured = MinorAmountField()
    amount_refunded = MinorAmountField()
    currency = LowerCaseCurrencyField()
    status = serializers.ChoiceField(choices=[s.value for s in Status])
    capture_method = serializers.ChoiceField(choices=Payment.CaptureMethod.values)
    payment_method = PaymentMethodSummaryOutput(allow_null=True)
    source_account = serializers.CharField(source="source_account.public_id", allow_null=True)
    fee = MinorAmountField()
    net = MinorAmountField(
        help_text="amount_captured - fee - the split transfers (transfer_data): what the merchant keeps."
    )
    refunded = serializers.BooleanField()
    disputed = serializers.BooleanField()
    failure_code = BlankAsNullCharField()
    failure_message = BlankAsNullCharField()
    cancellation_reason = BlankAsNullCharField()
    transfer_data = TransferDataField()
    risk_score = serializers.IntegerField()
    receipt_email = BlankAsNullCharField()
    description = BlankAsNullCharField()
    metadata = MetadataField()
    created = serializers.DateTimeField()
    captured_at = serializers.DateTimeField(allow_null=True)
    livemode = serializers.BooleanField()


class RefundOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = ObjectNameField("refund")
    payment = serializers.CharField(source="payment.public_id")
    amount = MinorAmountField()
    currency = LowerCaseCurrencyField()
    status = serializers.ChoiceField(choices=Refund.RefundStatus.values)
    reason = BlankAsNullCharField()
    failure_reason = BlankAsNullCharField()
    metadata = MetadataField()
    created = serializers.DateTimeField()
    livemode = serializers.BooleanField()


class EvidenceOutput(serializers.Serializer):
    text = BlankAsNullCharField(source="evidence_text")
    submitted_at = serializers.DateTimeField(source="evidence_submitted_at", allow_null=True)


class DisputeOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = ObjectNameField("dispute")
    payment = serializers.CharField(source="payment.public_id")
    amount = MinorAmountField()
    fee = MinorAmountField()
    currency = LowerCaseCurrencyField()
    status = serializers.ChoiceField(choices=Dispute.DisputeStatus.values)
    reason = serializers.CharField()
    evidence = EvidenceOutput(source="*")
    evidence_due_by = serializers.DateTimeField()
    created = serializers.DateTimeField()
    livemode = serializers.BooleanField()


# The top-up with its payment's outcome: ``fee`` and ``net`` are what its capture booked.
class TopUpOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = ObjectNameField("top_up")
    account = serializers.CharField(source="account.public_id", help_text="The wallet credited.")
    amount = MinorAmountField(help_text="Charged to the card, minor units.")
    currency = LowerCaseCurrencyField()
    fee = MinorAmountField(
        source="payment.fee", help_text="The merchant's fee plan fee for a payment of the amount."
    )
    net = MinorAmountField(
        source="payment.net", help_text="amount - fee: what the wallet was credited (0 until succeeded)."
    )
    payment = serializers.CharField(
        source="payment.public_id", help_text="The payment (pay_) that charged the card."
    )
    status = serializers.ChoiceField(choices=TopUp.TopUpStatus.values)
    failure_code = serializers.CharField(allow_null=True)
    metadata = MetadataField()
    created = serializers.DateTimeField()
    livemode = serializers.BooleanField()


# The event payloads render through one instance of each serializer: binding a serializer's
# fields (DRF deep-copies them for every new instance) costs about ten times the rendering, and
# ``to_representation`` keeps no state between objects.
_PAYMENT = PaymentOutput()
_REFUND = RefundOutput()
_DISPUTE = DisputeOutput()
_TOP_UP = TopUpOutput()


def payment_object(payment: Payment) -> dict[str, Any]:
    return _PAYMENT.to_representation(payment)


def refund_object(refund: Refund) -> dict[str, Any]:
    return _REFUND.to_representation(refund)


def dispute_object(dispute: Dispute) -> dict[str, Any]:
    return _DISPUTE.to_representation(dispute)


def top_up_object(top_up: TopUp) -> dict[str, Any]:
    return _TOP_UP.to_representation(top_up)
