"""What the payment write endpoints accept (the objects they answer are ``payments.serializers``).

Card inputs are passed to ``payments.cards.card_validate`` as received, so its error codes
(``incorrect_number``, ``invalid_expiry_month``, ``invalid_expiry_year``, ``invalid_cvc``) reach
the client, and no error message ever repeats the value it refused.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments.cards import PAN_MAX_LENGTH, PAN_MIN_LENGTH
from payments.models import Payment, Refund
from paysys.api.fields import CurrencyField, MetadataField, StrictBooleanField, StrictIntegerField

MAX_DESCRIPTION_LENGTH = 1000
MAX_EVIDENCE_LENGTH = 20_000
MAX_TRANSFERS = 10
ID_MAX_LENGTH = 64
# The column's length (RFC 5321's longest forward path).
RECEIPT_EMAIL_MAX_LENGTH = Payment._meta.get_field("receipt_email").max_length


class CardValueField(serializers.Field):
    """Any JSON value: ``card_validate`` decides, with the API's own error codes."""

    def to_internal_value(self, data: object) -> object:
        return data


# The schemas state what ``card_validate`` takes; a value outside them is its 400.
@extend_schema_field(
    {"type": "string", "minLength": PAN_MIN_LENGTH, "maxLength": PAN_MAX_LENGTH, "pattern": "^[0-9]+$"}
)
class CardNumberField(CardValueField):
    pass


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 12})
class CardMonthField(CardValueField):
    pass


@extend_schema_field(
    {
        "type": "integer",
        "minimum": 0,
        "maximum": 9999,
        "description": "This year to 20 years ahead (or 2 digits).",
    }
)
class CardYearField(CardValueField):
    pass


@extend_schema_field(
    {"type": "string", "maxLength": 4, "pattern": "^[0-9]{3,4}$", "description": "4 digits for amex, else 3."}
)
class CardCvcField(CardValueField):
    pass


class CardInput(serializers.Serializer):
    number = CardNumberField()
    exp_month = CardMonthField()
    exp_year = CardYearField()
    cvc = CardCvcField(required=False, default="")


class PaymentMethodCreateInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["card"])
    card = CardInput()


class PaymentMethodDataInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["card"])
    card = CardInput()


class TransferInput(serializers.Serializer):
    destination = serializers.CharField(min_length=1, max_length=ID_MAX_LENGTH)
    amount = StrictIntegerField(min_value=1)


class PaymentCreateInput(serializers.Serializer):
    amount = StrictIntegerField(min_value=1)
    currency = CurrencyField()
    payment_method = serializers.CharField(min_length=1, max_length=ID_MAX_LENGTH, required=False)
    payment_method_data = PaymentMethodDataInput(required=False)
    source_account = serializers.CharField(min_length=1, max_length=ID_MAX_LENGTH, required=False)
    capture_method = serializers.ChoiceField(choices=Payment.CaptureMethod.values, default="automatic")
    description = serializers.CharField(
        max_length=MAX_DESCRIPTION_LENGTH, required=False, default="", allow_blank=True
    )
    metadata = MetadataField()
    transfer_data = serializers.ListField(
        child=TransferInput(), required=False, default=list, max_length=MAX_TRANSFERS
    )
    receipt_email = serializers.EmailField(
        max_length=RECEIPT_EMAIL_MAX_LENGTH, required=False, default="", allow_blank=True
    )


class PaymentCaptureInput(serializers.Serializer):
    amount = StrictIntegerField(min_value=1, required=False)


class PaymentCancelInput(serializers.Serializer):
    cancellation_reason = serializers.ChoiceField(
        choices=["duplicate", "fraudulent", "requested_by_customer", "abandoned"],
        required=False,
        default="requested_by_customer",
    )


class PaymentConfirmInput(serializers.Serializer):
    challenge = serializers.ChoiceField(choices=["pass", "fail"], default="pass")


class RefundCreateInput(serializers.Serializer):
    payment = serializers.CharField(min_length=1, max_length=ID_MAX_LENGTH)
    amount = StrictIntegerField(min_value=1, required=False)
    reason = serializers.ChoiceField(choices=Refund.Reason.values, required=False, default="")
    metadata = MetadataField()


class DisputeEvidenceInput(serializers.Serializer):
    text = serializers.CharField(max_length=MAX_EVIDENCE_LENGTH, allow_blank=True)
    submit = StrictBooleanField(default=False)
