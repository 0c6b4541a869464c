"""Refunds and disputes: money going back from the merchant, asked for or charged back."""

from django.db import models
from django.db.models import F, Q

from payments.models.fields import CODE_MAX_LENGTH, ZERO, AmountField, new_dispute_id, new_refund_id
from payments.models.payments import Payment
from paysys.audit.history import HistoricalRecords
from paysys.ids import ID_MAX_LENGTH
from paysys.money import money_display


class Refund(models.Model):
    TENANT_FIELDS = ("merchant", "livemode")

    class RefundStatus(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Reason(models.TextChoices):
        DUPLICATE = "duplicate"
        FRAUDULENT = "fraudulent"
        REQUESTED_BY_CUSTOMER = "requested_by_customer"

    public_id = models.CharField(max_length=ID_MAX_LENGTH, unique=True, default=new_refund_id, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="refunds")
    # Declared before the amount: the currency column it reads.
    currency = models.CharField(max_length=3)
    amount = AmountField()
    status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    reason = models.CharField(max_length=32, choices=Reason.choices, blank=True, default="")
    failure_reason = models.CharField(max_length=CODE_MAX_LENGTH, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated"])

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["merchant", "-id"], name="payments_refund_merchant")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "failed"]),
                name="payments_refund_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {money_display(self.amount, self.currency)} {self.status}"


class Dispute(models.Model):
    TENANT_FIELDS = ("merchant", "livemode")

    class DisputeStatus(models.TextChoices):
        NEEDS_RESPONSE = "needs_response"
        UNDER_REVIEW = "under_review"
        WON = "won"
        LOST = "lost"

    public_id = models.CharField(
        max_length=ID_MAX_LENGTH, unique=True, default=new_dispute_id, editable=False
    )
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="disputes")
    # Declared before the amounts: the one currency column they share.
    currency = models.CharField(max_length=3)
    amount = AmountField()
    fee = AmountField(default=ZERO)
    # The part of amount + fee the merchant's balances could not cover at opening, carried by
    # the platform's dispute_losses account (recovered first if the dispute is won).
    platform_shortfall = AmountField(default=ZERO)
    status = models.CharField(
        max_length=16, choices=DisputeStatus.choices, default=DisputeStatus.NEEDS_RESPONSE
    )
    reason = models.CharField(max_length=CODE_MAX_LENGTH, default="general")
    evidence_text = models.TextField(blank=True, default="")
    evidence_submitted_at = models.DateTimeField(null=True, blank=True)
    evidence_due_by = models.DateTimeField()
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["updated"])

    class Meta:
        permissions = [
            ("close_dispute", "Can close a dispute as won or lost"),
        ]
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="payments_dispute_merchant"),
            # Disputes awaiting the merchant's evidence, by due date (the dashboard's "due soon").
            models.Index(
                fields=["evidence_due_by"],
                condition=Q(status="needs_response"),
                name="payments_dispute_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_dispute_amount_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="payments_dispute_fee_nonnegative"),
            models.CheckConstraint(
                condition=Q(platform_shortfall__gte=0, platform_shortfall__lte=F("amount") + F("fee")),
                name="payments_dispute_shortfall_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["needs_response", "under_review", "won", "lost"]),
                name="payments_dispute_status_valid",
            ),
            # A card network opens at most one chargeback per charge.
            models.UniqueConstraint(fields=["payment"], name="payments_dispute_one_per_payment"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {money_display(self.amount, self.currency)} {self.status}"
