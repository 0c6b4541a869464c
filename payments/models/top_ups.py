"""Top-ups: money into a customer wallet by card."""

from django.db import models
from django.db.models import Q

from payments.models.fields import AmountField, new_top_up_id
from payments.models.payments import Payment
from payments.states import Status
from paysys.ids import ID_MAX_LENGTH


class TopUp(models.Model):
    """Money into a customer wallet by card: a payment (automatic capture) whose capture credits
    the wallet its net (``Payment.credit_account``) instead of the merchant's pending.

    The top-up keeps what was asked; its status, fee and net are its payment's (``status``):
    a top-up whose payment waits (a challenge, a review, a processor timeout) follows it.
    """

    class TopUpStatus(models.TextChoices):
        PROCESSING = "processing"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    public_id = models.CharField(max_length=ID_MAX_LENGTH, default=new_top_up_id, editable=False)
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="top_ups", db_index=False
    )
    account = models.ForeignKey(
        "accounts.LedgerAccount", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="top_up")
    TENANT_FIELDS = ("merchant", "livemode")
    # Declared before the amount: the currency column it reads.
    currency = models.CharField(max_length=3)
    amount = AmountField()
    metadata = models.JSONField(default=dict, blank=True)
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "top-up"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="payments_topup_merchant"),
            models.Index(fields=["merchant", "created"], name="payments_topup_mer_created"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="payments_topup_public_id_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_topup_amount_positive"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="payments_topup_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount.amount} {self.currency} {self.status}"

    @property
    def status(self) -> str:
        """``succeeded`` once its payment is captured, ``failed`` if it failed or was canceled."""
        if self.payment.status == Status.SUCCEEDED:
            return self.TopUpStatus.SUCCEEDED
        if self.payment.status in (Status.FAILED, Status.CANCELED):
            return self.TopUpStatus.FAILED
        return self.TopUpStatus.PROCESSING

    @property
    def failure_code(self) -> str | None:
        """The decline code of a failed payment; ``payment_canceled`` for a voided or expired one."""
        if self.payment.status == Status.FAILED:
            return self.payment.failure_code or None
        if self.payment.status == Status.CANCELED:
            return "payment_canceled"
        return None
