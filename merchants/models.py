"""Merchants, their commercial terms and their API keys.

A merchant is onboarded ``pending``, becomes ``active`` (its ledger accounts are opened then),
may be ``suspended`` (its keys authenticate but every request is refused with 403
``merchant_suspended``) and finally ``closed`` (its keys are revoked). Status changes go
through ``merchants.services``; the rules the database can hold are constraints here.

An ``ApiKey`` secret is shown once, at creation, and never stored: the row holds its
HMAC-SHA256 under a server pepper (see ``merchants.keys``) and a short visible prefix.
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from djmoney.models.fields import MoneyField

from paysys.audit.history import HistoricalRecords
from paysys.ids import ID_MAX_LENGTH, new_id
from paysys.money import MAX_EXPONENT

MAX_BASIS_POINTS = 10_000
MAX_RESERVE_PERCENT = Decimal(100)
MONEY_MAX_DIGITS = 19
# Currencies are stored as upper-case ISO 4217 codes, as everywhere inside paysys.
CURRENCY_CODE = r"^[A-Z]{3}$"


def _money(**kwargs) -> MoneyField:
    """An optional amount in the row's one ``currency`` column (shared by the row's amounts)."""
    return MoneyField(
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MAX_EXPONENT,
        currency_field_name="currency",
        null=True,
        blank=True,
        **kwargs,
    )


def new_merchant_id() -> str:
    return new_id("mer")


class Merchant(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        ACTIVE = "active"
        SUSPENDED = "suspended"
        CLOSED = "closed"

    class PayoutSchedule(models.TextChoices):
        DAILY = "daily"
        WEEKLY = "weekly"
        MONTHLY = "monthly"
        MANUAL = "manual"

    public_id = models.CharField(
        max_length=ID_MAX_LENGTH, unique=True, default=new_merchant_id, editable=False
    )
    name = models.CharField(max_length=200)
    email = models.EmailField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    default_currency = models.CharField(max_length=3, default="EUR")
    settlement_delay_days = models.PositiveSmallIntegerField(default=1)
    # Share of each settlement withheld in the `reserve` account, released after the period.
    reserve_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(0))
    reserve_period_days = models.PositiveSmallIntegerField(default=0)
    payout_schedule = models.CharField(
        max_length=16, choices=PayoutSchedule.choices, default=PayoutSchedule.DAILY
    )
    metadata = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=200, blank=True, default="")
    # A connected merchant's platform: the one merchant whose payments may split funds to it
    # (``transfer_data``). One level only: a platform is not itself connected.
    platform = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="connected_merchants"
    )

    history = HistoricalRecords()

    class Meta:
        permissions = [
            ("activate_merchant", "Can activate or reinstate a merchant"),
            ("suspend_merchant", "Can suspend a merchant"),
            ("close_merchant", "Can close a merchant"),
            ("set_merchant_fees", "Can set a merchant's fee plan, settlement delay and payout schedule"),
            ("set_merchant_risk_terms", "Can set a merchant's rolling reserve and limits"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(platform__isnull=True) | ~Q(platform=F("id")),
                name="merchants_merchant_platform_not_self",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "active", "suspended", "closed"]),
                name="merchants_merchant_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(reserve_percent__gte=0) & Q(reserve_percent__lte=MAX_RESERVE_PERCENT),
                name="merchants_merchant_reserve_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(default_currency__regex=CURRENCY_CODE),
                name="merchants_merchant_currency_uppercase",
            ),
            models.CheckConstraint(
                condition=Q(payout_schedule__in=["daily", "weekly", "monthly", "manual"]),
                name="merchants_merchant_payout_schedule_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"


class FeePlan(models.Model):
    """The merchant's fees in one currency: basis points of the amount plus a fixed amount per
    payment, and the fee for a dispute.

    An empty amount follows the platform's default for the currency;
    ``merchants.selectors.merchant_fee_terms_get`` resolves both into ``Money``.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="fee_plans")
    # Declared before the amounts: the one currency column they share.
    currency = models.CharField(max_length=3)
    basis_points = models.PositiveIntegerField()
    # Added to every payment's fee in this currency; empty: the platform default for the
    # currency, ``PAYSYS_DEFAULT_FEE_FIXED_MINOR``.
    fixed = _money(help_text="Empty: the platform default for the currency.")
    # Debited from the merchant when a dispute opens on a payment in this currency; empty: the
    # platform default for the currency, ``PAYSYS_DISPUTE_FEE_MINOR``.
    dispute_fee = _money(help_text="Empty: the platform default for the currency.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "currency"], name="merchants_feeplan_merchant_currency_unique"
            ),
            models.CheckConstraint(
                condition=Q(basis_points__lte=MAX_BASIS_POINTS), name="merchants_feeplan_basis_points_range"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_CODE), name="merchants_feeplan_currency_uppercase"
            ),
            models.CheckConstraint(condition=Q(fixed__gte=0), name="merchants_feeplan_fixed_nonnegative"),
            models.CheckConstraint(
                condition=Q(dispute_fee__gte=0), name="merchants_feeplan_dispute_fee_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        fixed = "default" if self.fixed is None else self.fixed.amount
        return f"{self.basis_points} bps + {fixed} {self.currency}"


class MerchantLimit(models.Model):
    """Risk limits in one currency; empty means "no merchant-specific limit"."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="limits")
    # Declared before the amounts: the one currency column they share.
    currency = models.CharField(max_length=3)
    max_payment = _money()
    daily_volume = _money()
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "currency"], name="merchants_merchantlimit_merchant_currency_unique"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_CODE), name="merchants_merchantlimit_currency_uppercase"
            ),
            models.CheckConstraint(
                condition=Q(max_payment__gt=0), name="merchants_merchantlimit_max_payment_positive"
            ),
            models.CheckConstraint(
                condition=Q(daily_volume__gt=0), name="merchants_merchantlimit_daily_volume_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"limits {self.currency} for {self.merchant_id}"


class ApiKey(models.Model):
    class Scope(models.TextChoices):
        READ = "read"
        WRITE = "write"

    class Mode(models.TextChoices):
        TEST = "test"
        LIVE = "live"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="api_keys")
    # The first characters of the secret (``sk_test_AbCd1234``): shown in lists, used by
    # ``revoke_api_key``; far too short to authenticate with.
    prefix = models.CharField(max_length=32, unique=True)
    # HMAC-SHA256 (hex) of the whole secret under settings.PAYSYS_API_KEY_PEPPER.
    secret_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.WRITE)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.TEST)
    name = models.CharField(max_length=100, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Set on the old key by a rotation: it keeps working until then (the overlap window).
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rotated_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rotated_to"
    )

    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        verbose_name = "API key"
        permissions = [
            ("revoke_apikey", "Can revoke an API key"),
            ("rotate_apikey", "Can rotate an API key"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=["read", "write"]), name="merchants_apikey_scope_valid"
            ),
            models.CheckConstraint(
                condition=Q(mode__in=["test", "live"]), name="merchants_apikey_mode_valid"
            ),
            models.CheckConstraint(
                condition=Q(prefix__startswith="sk_test_") | Q(prefix__startswith="sk_live_"),
                name="merchants_apikey_prefix_shape",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.scope}, {self.mode})"
