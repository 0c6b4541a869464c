"""Payment endpoints of the merchant API: payment methods, payments, refunds, disputes.

Thin adapters: parse, call one service or selector scoped to the key's tenant (its merchant and
mode), render. Another merchant's payment, refund, dispute or payment method, or one of the other
mode, is a 404 exactly like an unknown id (every selector filters through ``Tenant.scope``).
"""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response

from payments.api.serializers import (
    DisputeEvidenceInput,
    PaymentCancelInput,
    PaymentCaptureInput,
    PaymentConfirmInput,
    PaymentCreateInput,
    PaymentMethodCreateInput,
    RefundCreateInput,
)
from payments.models import Dispute, Payment, Refund
from payments.selectors import (
    dispute_get,
    dispute_list,
    payment_get,
    payment_list,
    refund_get,
    refund_list,
)
from payments.serializers import DisputeOutput, PaymentMethodOutput, PaymentOutput, RefundOutput
from payments.services import (
    TransferRequest,
    dispute_evidence_submit,
    payment_cancel,
    payment_capture,
    payment_confirm,
    payment_create,
    payment_method_create,
    refund_create,
)
from payments.states import Status
from paysys.api.filters import CurrencyFilter, ListFilterSet
from paysys.api.schema import IDEMPOTENCY_KEY_PARAMETER, responses
from paysys.api.views import PaysysApiView
from paysys.client_ip import client_ip
from paysys.errors import NotFoundError
from paysys.money import currency_to_api, validate_minor_amount

TAG = "Payments"


class PaymentFilterSet(ListFilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=[(s.value, s.value) for s in Status])
    currency = CurrencyFilter(field_name="currency")


class RefundFilterSet(ListFilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=Refund.RefundStatus.choices)
    currency = CurrencyFilter(field_name="currency")
    payment = django_filters.CharFilter(field_name="payment__public_id")


class DisputeFilterSet(ListFilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=Dispute.DisputeStatus.choices)
    currency = CurrencyFilter(field_name="currency")
    payment = django_filters.CharFilter(field_name="payment__public_id")


class PaymentMethodCreateApi(PaysysApiView):
    serializer_class = PaymentMethodOutput

    @extend_schema(
        tags=[TAG],
        operation_id="payment_methods_create",
        summary="Tokenize a card (the number and CVC are never stored)",
        request=PaymentMethodCreateInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({201: PaymentMethodOutput}, write=True),
    )
    def post(self, request):
        data = self.parse(PaymentMethodCreateInput)
        pm = payment_method_create(
            merchant=self.caller.merchant, card=data["card"], livemode=self.caller.livemode
        )
        return Response(self.get_serializer(pm).data, status=201)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="payments_list",
        summary="List payments, newest first",
        responses=responses({200: PaymentOutput(many=True)}),
    )
)
class PaymentListCreateApi(PaysysApiView, ListAPIView):
    serializer_class = PaymentOutput
    filterset_class = PaymentFilterSet

    def get_queryset(self):
        return payment_list(tenant=self.caller.tenant)

    @extend_schema(
        tags=[TAG],
        operation_id="payments_create",
        summary="Create a payment (card, saved payment method or customer wallet)",
        request=PaymentCreateInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({201: PaymentOutput}, write=True, extra=(402,)),
    )
    def post(self, request):
        data = self.parse(PaymentCreateInput)
        amount = validate_minor_amount(data["amount"], data["currency"])
        transfers = [
            TransferRequest(
                destination=item["destination"],
                amount=validate_minor_amount(
                    item["amount"], data["currency"], param=f"transfer_data[{index}][amount]"
                ),
            )
            for index, item in enumerate(data["transfer_data"])
        ]
        method_data = data.get("payment_method_data")
        payment = payment_create(
            merchant=self.caller.merchant,
            amount=amount,
            payment_method_id=data.get("payment_method"),
            card=method_data["card"] if method_data else None,
            source_account_id=data.get("source_account"),
            capture_method=data["capture_method"],
            description=data["description"],
            metadata=data["metadata"],
            transfers=transfers,
            receipt_email=data["receipt_email"],
            ip=client_ip(request),
            livemode=self.caller.livemode,
        )
        return Response(self.get_serializer(payment).data, status=201)


# The payment named in the path (``payment_id``), among the key's.
class PaymentApi(PaysysApiView):
    serializer_class = PaymentOutput

    def get_object(self) -> Payment:
        return payment_get(tenant=self.caller.tenant, payment_id=self.kwargs["payment_id"])


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="payments_retrieve",
        summary="Retrieve a payment",
        responses=responses({200: PaymentOutput}),
    )
)
class PaymentDetailApi(PaymentApi, RetrieveAPIView):
    pass


def _capture_amount(payment: Payment, minor: int | None):
    if minor is None:
        return None
    return validate_minor_amount(minor, currency_to_api(payment.currency))


class PaymentCaptureApi(PaymentApi):
    @extend_schema(
        tags=[TAG],
        operation_id="payments_capture",
        summary="Capture an authorized payment, fully or partly (the rest is released)",
        request=PaymentCaptureInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({200: PaymentOutput}, write=True),
    )
    def post(self, request, payment_id: str):
        data = self.parse(PaymentCaptureInput)
        payment = self.get_object()
        payment = payment_capture(payment=payment, amount=_capture_amount(payment, data.get("amount")))
        return Response(self.get_serializer(payment).data)


class PaymentCancelApi(PaymentApi):
    @extend_schema(
        tags=[TAG],
        operation_id="payments_cancel",
        summary="Cancel (void) an uncaptured payment",
        request=PaymentCancelInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({200: PaymentOutput}, write=True),
    )
    def post(self, request, payment_id: str):
        data = self.parse(PaymentCancelInput)
        payment = payment_cancel(payment=self.get_object(), reason=data["cancellation_reason"])
        return Response(self.get_serializer(payment).data)


class PaymentConfirmApi(PaymentApi):
    @extend_schema(
        tags=[TAG],
        operation_id="payments_confirm",
        summary="Complete the authentication challenge of a requires_action payment",
        request=PaymentConfirmInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({200: PaymentOutput}, write=True, extra=(402,)),
    )
    def post(self, request, payment_id: str):
        data = self.parse(PaymentConfirmInput)
        payment = payment_confirm(payment=self.get_object(), challenge_passed=data["challenge"] == "pass")
        return Response(self.get_serializer(payment).data)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="refunds_list",
        summary="List refunds, newest first",
        responses=responses({200: RefundOutput(many=True)}),
    )
)
class RefundListCreateApi(PaysysApiView, ListAPIView):
    serializer_class = RefundOutput
    filterset_class = RefundFilterSet

    def get_queryset(self):
        return refund_list(tenant=self.caller.tenant)

    @extend_schema(
        tags=[TAG],
        operation_id="refunds_create",
        summary="Refund a captured payment, fully or partly",
        request=RefundCreateInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({201: RefundOutput}, write=True),
    )
    def post(self, request):
        data = self.parse(RefundCreateInput)
        try:
            payment = payment_get(tenant=self.caller.tenant, payment_id=data["payment"])
        except NotFoundError:
            raise NotFoundError(f"No such payment: '{data['payment']}'", param="payment") from None
        amount = data.get("amount")
        refund = refund_create(
            payment=payment,
            amount=None
            if amount is None
            else validate_minor_amount(amount, currency_to_api(payment.currency)),
            reason=data["reason"],
            metadata=data["metadata"],
        )
        return Response(self.get_serializer(refund).data, status=201)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="refunds_retrieve",
        summary="Retrieve a refund",
        responses=responses({200: RefundOutput}),
    )
)
class RefundDetailApi(PaysysApiView, RetrieveAPIView):
    serializer_class = RefundOutput

    def get_object(self) -> Refund:
        return refund_get(tenant=self.caller.tenant, refund_id=self.kwargs["refund_id"])


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="disputes_list",
        summary="List disputes, newest first",
        responses=responses({200: DisputeOutput(many=True)}),
    )
)
class DisputeListApi(PaysysApiView, ListAPIView):
    serializer_class = DisputeOutput
    filterset_class = DisputeFilterSet

    def get_queryset(self):
        return dispute_list(tenant=self.caller.tenant)


# The dispute named in the path (``dispute_id``), among the key's.
class DisputeApi(PaysysApiView):
    serializer_class = DisputeOutput

    def get_object(self) -> Dispute:
        return dispute_get(tenant=self.caller.tenant, dispute_id=self.kwargs["dispute_id"])


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="disputes_retrieve",
        summary="Retrieve a dispute",
        responses=responses({200: DisputeOutput}),
    )
)
class DisputeDetailApi(DisputeApi, RetrieveAPIView):
    pass


class DisputeEvidenceApi(DisputeApi):
    @extend_schema(
        tags=[TAG],
        operation_id="disputes_evidence",
        summary="Attach evidence to a dispute; submit sends it for review",
        request=DisputeEvidenceInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({200: DisputeOutput}, write=True),
    )
    def post(self, request, dispute_id: str):
        data = self.parse(DisputeEvidenceInput)
        dispute = dispute_evidence_submit(dispute=self.get_object(), text=data["text"], submit=data["submit"])
        return Response(self.get_serializer(dispute).data)
