from django.urls import path

from settlements.api.views import (
    PayoutDetailApi,
    PayoutListApi,
    SettlementDetailApi,
    SettlementLineListApi,
    SettlementListApi,
)

urlpatterns = [
    path("settlements", SettlementListApi.as_view(), name="settlements"),
    path("settlements/<str:settlement_id>", SettlementDetailApi.as_view(), name="settlement-detail"),
    path("settlements/<str:settlement_id>/lines", SettlementLineListApi.as_view(), name="settlement-lines"),
    path("payouts", PayoutListApi.as_view(), name="payouts"),
    path("payouts/<str:payout_id>", PayoutDetailApi.as_view(), name="payout-detail"),
]
