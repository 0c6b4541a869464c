"""Reads that exist for the merchant API only (the ledger's own reads are ``accounts.selectors``)."""

from django.db.models import DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, ZERO, AccountKind, Entry, OwnerType
from paysys.tenancy import Tenant


def _amount_field() -> DecimalField:
    return DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)


# The merchant's own balance: what /v1/balance adds up and /v1/balance_transactions lists.
MERCHANT_BALANCE_KINDS = (AccountKind.PENDING, AccountKind.AVAILABLE, AccountKind.RESERVE)


def balance_transaction_list(*, tenant: Tenant) -> QuerySet[Entry]:
    """Every entry on the merchant's pending, available and reserve accounts, newest first,
    annotated with ``fee_amount``: what the platform's ``fees`` account received in the same
    journal transaction (so gross = net + fee). One query per page."""
    fee = (
        Entry.objects.filter(
            transaction_id=OuterRef("transaction_id"),
            account__owner_type=OwnerType.PLATFORM,
            account__kind=AccountKind.FEES,
        )
        .order_by()
        .values("transaction_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return (
        tenant.scope(
            Entry.objects.filter(
                account__owner_type=OwnerType.MERCHANT, account__kind__in=MERCHANT_BALANCE_KINDS
            )
        )
        .select_related("transaction", "account")
        .annotate(
            fee_amount=Coalesce(
                Subquery(
                    fee,
                    output_field=DecimalField(
                        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES
                    ),
                ),
                Value(ZERO),
            )
        )
        .order_by("-pk")
    )
