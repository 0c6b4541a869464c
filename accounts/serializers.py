"""The ledger objects that events carry, as the API shows them: one rendering for both.

``transfer.created`` and ``transfer.reversed`` events hold ``{"object": transfer_object(t)}``,
what ``GET /v1/transfers/{id}`` shows. The API's other ledger objects are
``accounts.api.serializers``.
"""

from typing import Any

from rest_framework import serializers

from accounts.models import Transfer
from paysys.api.fields import LowerCaseCurrencyField, MetadataField, MinorAmountField, ObjectSerializer


class TransferOutput(ObjectSerializer):
    object_name = "transfer"

    amount = MinorAmountField(read_only=True)
    currency = LowerCaseCurrencyField(read_only=True)
    from_account = serializers.CharField(source="from_account.public_id")
    to_account = serializers.CharField(source="to_account.public_id")
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=["posted", "reversed"])
    transaction = serializers.CharField(source="transaction.public_id")
    reversal_transaction = serializers.CharField(
        source="reversal_transaction.public_id", allow_null=True, read_only=True
    )
    metadata = MetadataField()


# One instance renders every event payload: binding a serializer's fields (DRF deep-copies them
# for every new instance) costs about ten times the rendering; ``to_representation`` keeps no
# state between objects.
_TRANSFER = TransferOutput()


def transfer_object(transfer: Transfer) -> dict[str, Any]:
    return _TRANSFER.to_representation(transfer)
