"""Top-up endpoints: fund a customer wallet by card (``payments.top_ups``).

``POST /v1/top_ups`` answers 201 with the top-up (``succeeded``, or ``processing`` while its
payment waits for a challenge, a review or the processor), or, when the card is declined, 402
``card_error`` naming the failed top-up (``top_up``) and its payment (``payment``), as
``POST /v1/payments`` does. Another merchant's wallet or top-up is a 404 like an unknown id.
"""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response

from payments.api.serializers import ID_MAX_LENGTH, PaymentMethodDataInput
from payments.models import TopUp
from payments.selectors import top_up_get, top_up_list
from payments.serializers import TopUpOutput
from payments.states import Status
from payments.top_ups import top_up_create
from paysys.api.fields import CurrencyField, MetadataField, StrictIntegerField
from paysys.api.filters import CurrencyFilter, ListFilterSet
from paysys.api.schema import IDEMPOTENCY_KEY_PARAMETER, responses
from paysys.api.views import PaysysApiView
from paysys.client_ip import client_ip
from paysys.money import validate_minor_amount

TAG = "Ledger"
# A top-up's status is its payment's outcome (``TopUp.status``), filtered as such.
PAYMENT_STATUSES_BY_TOP_UP_STATUS = {
    TopUp.TopUpStatus.SUCCEEDED: [Status.SUCCEEDED],
    TopUp.TopUpStatus.FAILED: [Status.FAILED, Status.CANCELED],
    TopUp.TopUpStatus.PROCESSING: [
        s for s in Status if s not in (Status.SUCCEEDED, Status.FAILED, Status.CANCELED)
    ],
}


class TopUpCreateInput(serializers.Serializer):
    account = serializers.CharField(
        min_length=1, max_length=ID_MAX_LENGTH, help_text="A wallet (acct_) of the merchant."
    )
    amount = StrictIntegerField(min_value=1)
    currency = CurrencyField()
    payment_method = serializers.CharField(min_length=1, max_length=ID_MAX_LENGTH, required=False)
    payment_method_data = PaymentMethodDataInput(required=False)
    metadata = MetadataField()


class TopUpFilterSet(ListFilterSet):
    status = django_filters.ChoiceFilter(choices=TopUp.TopUpStatus.choices, method="filter_status")
    currency = CurrencyFilter(field_name="currency")
    account = django_filters.CharFilter(field_name="account__public_id")

    def filter_status(self, queryset, name, value):
        return queryset.filter(payment__status__in=PAYMENT_STATUSES_BY_TOP_UP_STATUS[value])


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="top_ups_list",
        summary="List top-ups, newest first",
        responses=responses({200: TopUpOutput(many=True)}),
    )
)
class TopUpListCreateApi(PaysysApiView, ListAPIView):
    serializer_class = TopUpOutput
    filterset_class = TopUpFilterSet

    def get_queryset(self):
        return top_up_list(tenant=self.caller.tenant)

    @extend_schema(
        tags=[TAG],
        operation_id="top_ups_create",
        summary="Fund a customer wallet by card (a payment, captured at once)",
        request=TopUpCreateInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({201: TopUpOutput}, write=True, extra=(402,)),
    )
    def post(self, request):
        data = self.parse(TopUpCreateInput)
        method_data = data.get("payment_method_data")
        top_up = top_up_create(
            merchant=self.caller.merchant,
            account_id=data["account"],
            amount=validate_minor_amount(data["amount"], data["currency"]),
            payment_method_id=data.get("payment_method"),
            card=method_data["card"] if method_data else None,
            metadata=data["metadata"],
            ip=client_ip(request),
            livemode=self.caller.livemode,
        )
        return Response(self.get_serializer(top_up).data, status=201)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="top_ups_retrieve",
        summary="Retrieve a top-up",
        responses=responses({200: TopUpOutput}),
    )
)
class TopUpDetailApi(PaysysApiView, RetrieveAPIView):
    serializer_class = TopUpOutput

    def get_object(self) -> TopUp:
        return top_up_get(tenant=self.caller.tenant, top_up_id=self.kwargs["top_up_id"])
