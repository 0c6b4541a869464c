from django.urls import path

from accounts.api.views import (
    AccountDetailApi,
    AccountEntryListApi,
    AccountListCreateApi,
    BalanceRetrieveApi,
    BalanceTransactionListApi,
    TransferDetailApi,
    TransferListCreateApi,
    TransferReverseApi,
)

urlpatterns = [
    path("accounts", AccountListCreateApi.as_view(), name="accounts"),
    path("accounts/<str:account_id>", AccountDetailApi.as_view(), name="account-detail"),
    path("accounts/<str:account_id>/entries", AccountEntryListApi.as_view(), name="account-entries"),
    path("transfers", TransferListCreateApi.as_view(), name="transfers"),
    path("transfers/<str:transfer_id>", TransferDetailApi.as_view(), name="transfer-detail"),
    path("transfers/<str:transfer_id>/reverse", TransferReverseApi.as_view(), name="transfer-reverse"),
    path("balance", BalanceRetrieveApi.as_view(), name="balance"),
    path("balance_transactions", BalanceTransactionListApi.as_view(), name="balance-transactions"),
]
