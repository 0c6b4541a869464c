"""Ledger endpoints of the merchant API: wallets, entries, transfers, balance.

Thin adapters: parse, call one service or selector scoped to the key's merchant, render.
Another merchant's account or transfer is a 404 exactly like an unknown id (the selectors
filter by the key's tenant: its merchant and mode).
"""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response

from accounts.api.selectors import balance_transaction_list
from accounts.api.serializers import (
    BALANCE_TRANSACTION_PREFIX,
    ENTRY_PREFIX,
    AccountCreateInput,
    AccountOutput,
    BalanceOutput,
    BalanceTransactionOutput,
    EntryOutput,
    TransferCreateInput,
    row_id_decoder,
)
from accounts.models import AccountKind, AccountStatus, OwnerType, TransactionKind, TransferStatus
from accounts.selectors import (
    account_get,
    account_list,
    balance_for_merchant,
    entry_list,
    transfer_get,
    transfer_list,
)
from accounts.serializers import TransferOutput
from accounts.services import account_open, transfer_create, transfer_reverse
from paysys.api.filters import CurrencyFilter, ListFilterSet
from paysys.api.pagination import StartingAfterPagination
from paysys.api.schema import IDEMPOTENCY_KEY_PARAMETER, responses
from paysys.api.views import PaysysApiView
from paysys.money import validate_minor_amount

TAG = "Ledger"


class AccountFilterSet(ListFilterSet):
    currency = CurrencyFilter(field_name="currency")
    status = django_filters.ChoiceFilter(field_name="status", choices=AccountStatus.choices)
    kind = django_filters.ChoiceFilter(field_name="kind", choices=AccountKind.choices)


class TransferFilterSet(ListFilterSet):
    currency = CurrencyFilter(field_name="currency")
    status = django_filters.ChoiceFilter(field_name="status", choices=TransferStatus.choices)


class BalanceTransactionFilterSet(ListFilterSet):
    currency = CurrencyFilter(field_name="currency")
    type = django_filters.ChoiceFilter(field_name="transaction__kind", choices=TransactionKind.choices)


class RowIdPagination(StartingAfterPagination):
    """``starting_after`` is an id derived from the row (``ent_…``, ``bt_…``): its primary key."""

    id_field = "pk"
    prefix = ""

    def decode_id(self, public_id: str) -> int:
        return row_id_decoder(self.prefix)(public_id)


class EntryPagination(RowIdPagination):
    prefix = ENTRY_PREFIX


class BalanceTransactionPagination(RowIdPagination):
    prefix = BALANCE_TRANSACTION_PREFIX


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="accounts_list",
        summary="List the merchant's ledger accounts (its own and its customers' wallets)",
        responses=responses({200: AccountOutput(many=True)}),
    )
)
class AccountListCreateApi(PaysysApiView, ListAPIView):
    serializer_class = AccountOutput
    filterset_class = AccountFilterSet

    def get_queryset(self):
        return account_list(tenant=self.caller.tenant)

    @extend_schema(
        tags=[TAG],
        operation_id="accounts_create",
        summary="Open a customer wallet",
        request=AccountCreateInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({201: AccountOutput}, write=True),
    )
    def post(self, request):
        data = self.parse(AccountCreateInput)
        account = account_open(
            owner_type=OwnerType.CUSTOMER,
            merchant_id=self.caller.merchant_id,
            kind=AccountKind.WALLET,
            currency=data["currency"],
            metadata=data["metadata"],
            livemode=self.caller.livemode,
        )
        # Re-read with its balances (the selector annotates them).
        account = account_get(account_id=account.pk, tenant=self.caller.tenant)
        return Response(self.get_serializer(account).data, status=201)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="accounts_retrieve",
        summary="Retrieve a ledger account",
        responses=responses({200: AccountOutput}),
    )
)
class AccountDetailApi(PaysysApiView, RetrieveAPIView):
    serializer_class = AccountOutput

    def get_object(self):
        return account_get(account_id=self.kwargs["account_id"], tenant=self.caller.tenant)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="accounts_entries_list",
        summary="List an account's ledger entries, newest first",
        responses=responses({200: EntryOutput(many=True)}),
    )
)
class AccountEntryListApi(PaysysApiView, ListAPIView):
    serializer_class = EntryOutput
    pagination_class = EntryPagination

    def get_queryset(self):
        return entry_list(account_id=self.kwargs["account_id"], tenant=self.caller.tenant)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="transfers_list",
        summary="List transfers",
        responses=responses({200: TransferOutput(many=True)}),
    )
)
class TransferListCreateApi(PaysysApiView, ListAPIView):
    serializer_class = TransferOutput
    filterset_class = TransferFilterSet

    def get_queryset(self):
        return transfer_list(tenant=self.caller.tenant)

    @extend_schema(
        tags=[TAG],
        operation_id="transfers_create",
        summary="Move money between two of the merchant's accounts",
        request=TransferCreateInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({201: TransferOutput}, write=True),
    )
    def post(self, request):
        data = self.parse(TransferCreateInput)
        amount = validate_minor_amount(data["amount"], data["currency"])
        transfer = transfer_create(
            merchant_id=self.caller.merchant_id,
            from_account_id=data["from_account"],
            to_account_id=data["to_account"],
            amount=amount,
            description=data["description"],
            metadata=data["metadata"],
            livemode=self.caller.livemode,
        )
        # The service returns the transfer with its accounts and transaction: no re-read.
        return Response(self.get_serializer(transfer).data, status=201)


# The transfer named in the path (``transfer_id``), among the key's.
class TransferApi(PaysysApiView):
    serializer_class = TransferOutput

    def get_object(self):
        return transfer_get(transfer_id=self.kwargs["transfer_id"], tenant=self.caller.tenant)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="transfers_retrieve",
        summary="Retrieve a transfer",
        responses=responses({200: TransferOutput}),
    )
)
class TransferDetailApi(TransferApi, RetrieveAPIView):
    pass


class TransferReverseApi(PaysysApiView):
    serializer_class = TransferOutput

    @extend_schema(
        tags=[TAG],
        operation_id="transfers_reverse",
        summary="Reverse a transfer with a new journal transaction",
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=responses({200: TransferOutput}, write=True),
    )
    def post(self, request, transfer_id: str):
        transfer = transfer_reverse(
            merchant_id=self.caller.merchant_id, transfer_id=transfer_id, livemode=self.caller.livemode
        )
        transfer = transfer_get(transfer_id=transfer.pk, tenant=self.caller.tenant)
        return Response(self.get_serializer(transfer).data)


class BalanceRetrieveApi(PaysysApiView):
    serializer_class = BalanceOutput

    @extend_schema(
        tags=[TAG],
        operation_id="balance_retrieve",
        summary="The merchant's balance per currency: available, pending, reserved",
        responses=responses({200: BalanceOutput}),
    )
    def get(self, request):
        balances = balance_for_merchant(tenant=self.caller.tenant).values()
        balance = {
            "object": "balance",
            "livemode": self.caller.livemode,
            "available": [b.available for b in balances],
            "pending": [b.pending for b in balances],
            "reserved": [b.reserved for b in balances],
        }
        return Response(self.get_serializer(balance).data)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        operation_id="balance_transactions_list",
        summary="Every movement of the merchant's own balance, newest first",
        responses=responses({200: BalanceTransactionOutput(many=True)}),
    )
)
class BalanceTransactionListApi(PaysysApiView, ListAPIView):
    serializer_class = BalanceTransactionOutput
    filterset_class = BalanceTransactionFilterSet
    pagination_class = BalanceTransactionPagination

    def get_queryset(self):
        return balance_transaction_list(tenant=self.caller.tenant)

    def get_serializer_context(self) -> dict:
        merchant = self.caller.merchant
        return {
            **super().get_serializer_context(),
            "settlement_delay_days": getattr(merchant, "settlement_delay_days", 1),
        }
