"""Reads of merchants, their terms and keys."""

from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from moneyed import Money

from merchants.models import ApiKey, FeePlan, Merchant, MerchantLimit
from paysys.db.compiled import CompiledQuery
from paysys.errors import NotFoundError
from paysys.money import minor_to_money


@dataclass(frozen=True)
class FeeTerms:
    basis_points: int
    fixed: Money
    dispute_fee: Money


@dataclass(frozen=True)
class Limits:
    max_payment: Money | None
    daily_volume: Money | None


# Read by every capture and every payment (one row each at most: unique per merchant and currency).
_FEE_PLAN = CompiledQuery(
    lambda merchant_pk, currency: FeePlan.objects.filter(merchant_id=merchant_pk, currency=currency),
    merchant_pk=int,
    currency=str,
)
_LIMITS = CompiledQuery(
    lambda merchant_pk, currency: MerchantLimit.objects.filter(merchant_id=merchant_pk, currency=currency),
    merchant_pk=int,
    currency=str,
)


def merchant_get(*, merchant_id: str) -> Merchant:
    """The merchant with public id ``merchant_id`` (``mer_…``)."""
    try:
        return Merchant.objects.get(public_id=merchant_id)
    except Merchant.DoesNotExist:
        raise NotFoundError(f"No such merchant: '{merchant_id}'", param="merchant") from None


def merchant_list() -> list[Merchant]:
    return list(Merchant.objects.order_by("-pk"))


def merchant_fee_terms_get(*, merchant: Merchant, currency: str) -> FeeTerms:
    """The fees for ``currency`` (upper-case): the merchant's plan, else the platform defaults."""
    plan = _FEE_PLAN.first(merchant_pk=merchant.pk, currency=currency) or FeePlan(
        currency=currency, basis_points=settings.PAYSYS_DEFAULT_FEE_BASIS_POINTS
    )
    return FeeTerms(
        basis_points=plan.basis_points,
        fixed=_plan_or_default(plan.fixed, settings.PAYSYS_DEFAULT_FEE_FIXED_MINOR, currency),
        dispute_fee=_plan_or_default(plan.dispute_fee, settings.PAYSYS_DISPUTE_FEE_MINOR, currency),
    )


def _plan_or_default(amount: Money | None, defaults: Mapping[str, int], currency: str) -> Money:
    """A fee plan's amount, else the platform's default for ``currency`` from its per-currency
    table (minor units): one number of minor units is not the same fee in EUR, JPY and KWD, so
    no default applies across currencies, and a currency the table does not list has none."""
    return minor_to_money(defaults.get(currency, 0), currency) if amount is None else amount


def merchant_limits_get(*, merchant: Merchant, currency: str) -> Limits:
    """The merchant's limits in ``currency`` (upper-case); ``None`` where no limit is set."""
    row = _LIMITS.first(merchant_pk=merchant.pk, currency=currency)
    if row is None:
        return Limits(max_payment=None, daily_volume=None)
    return Limits(max_payment=row.max_payment, daily_volume=row.daily_volume)


def api_key_list(*, merchant: Merchant) -> list[ApiKey]:
    return list(ApiKey.objects.filter(merchant=merchant).order_by("-pk"))


def api_key_get_by_prefix(*, prefix: str) -> ApiKey:
    try:
        return ApiKey.objects.select_related("merchant").get(prefix=prefix)
    except ApiKey.DoesNotExist:
        raise NotFoundError(f"No such API key: '{prefix}'", param="prefix") from None
