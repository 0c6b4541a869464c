"""Settlement, settlement line and payout as the API shows them (``settlements.objects``): the
serializers give the OpenAPI schema its shapes."""

from rest_framework import serializers

from settlements.models import LineType, Payout, Settlement
from settlements.objects import payout_object, settlement_line_object, settlement_object


class SettlementOutput(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.ChoiceField(choices=["settlement"])
    gross = serializers.IntegerField(help_text="Sales less split transfers, before fees (minor units).")
    fees = serializers.IntegerField()
    refunds = serializers.IntegerField()
    disputes = serializers.IntegerField(help_text="Disputed amounts and dispute fees, less disputes won.")
    adjustments = serializers.IntegerField()
    reserve_withheld = serializers.IntegerField()
    reserve_released = serializers.IntegerField()
    net = serializers.IntegerField(
        help_text="gross - fees - refunds - disputes + adjustments - reserve_withheld + reserve_released; "
        "negative when `carried_forward`."
    )
    currency = serializers.CharField()
    count = serializers.IntegerField(help_text="Payments, refunds, disputes and fees settled.")
    period_end = serializers.DateTimeField(help_text="What was booked before this instant is in it.")
    date = serializers.DateField(help_text="The run date.")
    status = serializers.ChoiceField(choices=Settlement.Status.values)
    payout = serializers.CharField(allow_null=True)
    created = serializers.DateTimeField()
    livemode = serializers.BooleanField()

    def to_representation(self, instance):
        return settlement_object(instance)


class SettlementLineOutput(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.ChoiceField(choices=["settlement_line"])
    type = serializers.ChoiceField(choices=LineType.values)
    source = serializers.CharField(help_text="The payment, refund, dispute or settlement it books.")
    transaction = serializers.CharField(help_text="The ledger transaction (`txn_`) it came from.")
    amount = serializers.IntegerField(help_text="Signed: + to you, - from you (minor units).")
    fee = serializers.IntegerField()
    gross = serializers.IntegerField(help_text="amount + fee.")
    currency = serializers.CharField()
    created = serializers.DateTimeField()

    def to_representation(self, instance):
        return settlement_line_object(instance)


class PayoutOutput(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.ChoiceField(choices=["payout"])
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Payout.Status.values)
    arrival_date = serializers.DateField(allow_null=True)
    settlement = serializers.CharField()
    failure_code = serializers.CharField(allow_null=True)
    created = serializers.DateTimeField()
    livemode = serializers.BooleanField()

    def to_representation(self, instance):
        return payout_object(instance)
