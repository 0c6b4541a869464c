from django.urls import path

from payments.api.top_ups import TopUpDetailApi, TopUpListCreateApi
from payments.api.views import (
    DisputeDetailApi,
    DisputeEvidenceApi,
    DisputeListApi,
    PaymentCancelApi,
    PaymentCaptureApi,
    PaymentConfirmApi,
    PaymentDetailApi,
    PaymentListCreateApi,
    PaymentMethodCreateApi,
    RefundDetailApi,
    RefundListCreateApi,
)

urlpatterns = [
    path("payment_methods", PaymentMethodCreateApi.as_view(), name="payment-methods"),
    path("payments", PaymentListCreateApi.as_view(), name="payments"),
    path("payments/<str:payment_id>", PaymentDetailApi.as_view(), name="payment-detail"),
    path("payments/<str:payment_id>/capture", PaymentCaptureApi.as_view(), name="payment-capture"),
    path("payments/<str:payment_id>/cancel", PaymentCancelApi.as_view(), name="payment-cancel"),
    path("payments/<str:payment_id>/confirm", PaymentConfirmApi.as_view(), name="payment-confirm"),
    path("refunds", RefundListCreateApi.as_view(), name="refunds"),
    path("refunds/<str:refund_id>", RefundDetailApi.as_view(), name="refund-detail"),
    path("disputes", DisputeListApi.as_view(), name="disputes"),
    path("disputes/<str:dispute_id>", DisputeDetailApi.as_view(), name="dispute-detail"),
    path("disputes/<str:dispute_id>/evidence", DisputeEvidenceApi.as_view(), name="dispute-evidence"),
    path("top_ups", TopUpListCreateApi.as_view(), name="top-ups"),
    path("top_ups/<str:top_up_id>", TopUpDetailApi.as_view(), name="top-up-detail"),
]
