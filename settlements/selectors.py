"""Reads of settlements, their lines and payouts, scoped to one tenant (a merchant in one mode,
``paysys.tenancy``) where a merchant asks; another tenant's object is missing like an unknown id."""

from django.db.models import QuerySet

from paysys.errors import NotFoundError
from paysys.tenancy import Tenant
from settlements.models import Payout, Settlement, SettlementLine


def _missing(kind: str, public_id: str) -> NotFoundError:
    return NotFoundError(f"No such {kind}: '{public_id}'", param="id")


def settlement_list(*, tenant: Tenant) -> QuerySet[Settlement]:
    return tenant.scope(Settlement.objects.all()).select_related("batch", "payout")


def settlement_get(*, tenant: Tenant, settlement_id: str) -> Settlement:
    try:
        return settlement_list(tenant=tenant).get(public_id=settlement_id)
    except Settlement.DoesNotExist:
        raise _missing("settlement", settlement_id) from None


def settlement_line_list(*, settlement: Settlement) -> QuerySet[SettlementLine]:
    """A settlement's lines (the caller found the settlement through its tenant)."""
    return SettlementLine.objects.filter(settlement=settlement).select_related("transaction")


def settlement_by_public_id(*, settlement_id: str) -> Settlement:
    """Any settlement, for operators (the export command, the admin)."""
    try:
        return Settlement.objects.select_related("batch").get(public_id=settlement_id)
    except Settlement.DoesNotExist:
        raise _missing("settlement", settlement_id) from None


def payout_list(*, tenant: Tenant) -> QuerySet[Payout]:
    return tenant.scope(Payout.objects.all()).select_related("settlement")


def payout_get(*, tenant: Tenant, payout_id: str) -> Payout:
    try:
        return payout_list(tenant=tenant).get(public_id=payout_id)
    except Payout.DoesNotExist:
        raise _missing("payout", payout_id) from None
