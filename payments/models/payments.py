"""Payment methods (a tokenized card) and payments."""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from moneyed import Money

from payments.models.fields import (
    CODE_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    MESSAGE_MAX_LENGTH,
    STATUS_MAX_LENGTH,
    ZERO,
    AmountField,
    new_payment_id,
    new_payment_method_id,
)
from payments.states import Status
from paysys.audit.history import HistoricalRecords
from paysys.ids import ID_MAX_LENGTH
from paysys.money import money_display


class PaymentMethod(models.Model):
    TENANT_FIELDS = ("merchant", "livemode")  # see paysys.tenancy

    class Type(models.TextChoices):
        CARD = "card"

    public_id = models.CharField(
        max_length=ID_MAX_LENGTH, unique=True, default=new_payment_method_id, editable=False
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="payment_methods"
    )
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.CARD)
    brand = models.CharField(max_length=16)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    # HMAC-SHA256 of the number under PAYSYS_CARD_FINGERPRINT_KEY: same card, same value.
    fingerprint = models.CharField(max_length=64, db_index=True)
    # The processor's token for the card; never the number.
    processor_token = models.CharField(max_length=128)
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["last4"], name="payments_paymentmethod_last4")]
        constraints = [
            models.CheckConstraint(
                condition=Q(last4__regex=r"^[0-9]{4}$"), name="payments_paymentmethod_last4_digits"
            ),
            models.CheckConstraint(
                condition=Q(exp_month__gte=1, exp_month__lte=12),
                name="payments_paymentmethod_exp_month_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.brand} ••{self.last4}"


class Payment(models.Model):
    TENANT_FIELDS = ("merchant", "livemode")

    class CaptureMethod(models.TextChoices):
        AUTOMATIC = "automatic"
        MANUAL = "manual"

    # Indexes for the lookups there are (see Meta); none on the foreign keys no query filters by.
    public_id = models.CharField(max_length=ID_MAX_LENGTH, default=new_payment_id, editable=False)
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    status = models.CharField(
        max_length=STATUS_MAX_LENGTH, choices=[(s.value, s.value) for s in Status], default=Status.PROCESSING
    )
    capture_method = models.CharField(
        max_length=16, choices=CaptureMethod.choices, default=CaptureMethod.AUTOMATIC
    )
    # Declared before the amounts: the one currency column they share.
    currency = models.CharField(max_length=3)
    amount = AmountField()
    amount_capturable = AmountField(default=ZERO)
    amount_captured = AmountField(default=ZERO)
    amount_refunded = AmountField(default=ZERO)
    # Computed once, at capture, from the merchant's fee plan (half-up to the minor unit).
    fee = AmountField(default=ZERO)
    # Split payments: [{"destination": "mer_...", "amount": "<decimal>"}], booked at capture.
    transfer_data = models.JSONField(default=list, blank=True)
    payment_method = models.ForeignKey(
        PaymentMethod,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
        db_index=False,
    )
    source_account = models.ForeignKey(
        "accounts.LedgerAccount",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # The account a capture credits instead of the merchant's pending: a top-up's wallet.
    credit_account = models.ForeignKey(
        "accounts.LedgerAccount",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # The ledger hold on the wallet (wallet payments only).
    hold = models.ForeignKey(
        "accounts.Hold", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # The processor's authorization id (card payments only).
    processor_authorization = models.CharField(max_length=128, blank=True, default="")
    disputed = models.BooleanField(default=False)
    failure_code = models.CharField(max_length=CODE_MAX_LENGTH, blank=True, default="")
    failure_message = models.CharField(max_length=MESSAGE_MAX_LENGTH, blank=True, default="")
    cancellation_reason = models.CharField(max_length=CODE_MAX_LENGTH, blank=True, default="")
    risk_score = models.PositiveSmallIntegerField(default=0)
    risk_reasons = models.JSONField(default=list, blank=True)
    receipt_email = models.EmailField(blank=True, default="")
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    # An uncaptured authorization is voided after this (PAYSYS_AUTHORIZATION_TTL_DAYS).
    expires_at = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["updated"])

    class Meta:
        permissions = [
            ("review_payment", "Can approve or decline a payment held for review"),
            ("cancel_payment", "Can cancel (void) an uncaptured payment"),
            ("dispute_payment", "Can open a dispute on a payment"),
            ("refund_payment", "Can refund a payment"),
        ]
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="payments_payment_merchant"),
            # The admin's searches and date filter (paysys.admin.search): each an equality or a range.
            models.Index(fields=["created"], name="payments_payment_created"),
            models.Index(Upper("receipt_email"), name="payments_payment_email"),
            models.Index(fields=["payment_method"], name="payments_payment_method"),
            models.Index(
                fields=["processor_authorization"],
                name="payments_payment_authorization",
                condition=~Q(processor_authorization=""),
            ),
            # created[gte] / created[lt] filters and the daily volume limit (merchant, since midnight).
            models.Index(fields=["merchant", "created"], name="payments_payment_mer_created"),
            models.Index(
                fields=["expires_at"],
                condition=Q(status__in=["requires_capture", "requires_action"]),
                name="payments_payment_expiry",
            ),
            models.Index(
                fields=["updated"], condition=Q(status="processing"), name="payments_payment_processing"
            ),
            # The review queue, oldest first (the admin's list and the dashboard's counter).
            models.Index(
                fields=["created"], condition=Q(status="requires_review"), name="payments_payment_review"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="payments_payment_public_id_unique"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in Status]), name="payments_payment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(capture_method__in=["automatic", "manual"]),
                name="payments_payment_capture_method_valid",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="payments_payment_currency_iso"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_capturable__gte=0, amount_capturable__lte=F("amount")),
                name="payments_payment_capturable_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(amount_captured__gte=0, amount_captured__lte=F("amount")),
                name="payments_payment_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0, amount_refunded__lte=F("amount_captured")),
                name="payments_payment_refunded_within_captured",
            ),
            models.CheckConstraint(
                condition=Q(fee__gte=0, fee__lte=F("amount_captured")),
                name="payments_payment_fee_within_captured",
            ),
            models.CheckConstraint(
                condition=Q(payment_method__isnull=False, source_account__isnull=True)
                | Q(payment_method__isnull=True, source_account__isnull=False),
                name="payments_payment_one_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {money_display(self.amount, self.currency)} {self.status}"

    @property
    def refunded(self) -> bool:
        return self.amount_captured.amount > 0 and self.amount_refunded == self.amount_captured

    @property
    def amount_transferred(self) -> Money:
        """What the split transfers (``transfer_data``) send to connected merchants at capture."""
        return Money(sum((Decimal(t["amount"]) for t in self.transfer_data), ZERO), self.currency)

    @property
    def net(self) -> Money:
        """What the merchant keeps of the capture: less the fee and the split transfers."""
        if not self.amount_captured.amount:
            return Money(ZERO, self.currency)
        return self.amount_captured - self.fee - self.amount_transferred
