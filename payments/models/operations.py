"""Processor operations (each call, recorded before it is sent) and the breaks that the
processor's daily report shows against them."""

from django.db import models
from django.db.models import Q

from payments.models.fields import REFERENCE_MAX_LENGTH, amount_field


class ProcessorOperation(models.Model):
    """One call to the processor, recorded before it is sent: its reference makes it idempotent.

    ``pending`` means sent (or about to be) with no answer yet; the resolver asks the
    processor about pending operations (``status(reference)``) and applies the answer.
    """

    class Kind(models.TextChoices):
        AUTHORIZE = "authorize"
        CONFIRM = "confirm"
        CAPTURE = "capture"
        VOID = "void"
        REFUND = "refund"

    class OpStatus(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        DECLINED = "declined"
        REQUIRES_ACTION = "requires_action"
        NOT_SENT = "not_sent"

    payment = models.ForeignKey("Payment", on_delete=models.PROTECT, related_name="operations")
    refund = models.ForeignKey(
        "Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="operations"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reference = models.CharField(max_length=REFERENCE_MAX_LENGTH, unique=True)
    amount = amount_field(null=True, blank=True)
    status = models.CharField(max_length=16, choices=OpStatus.choices, default=OpStatus.PENDING)
    # The processor's answer (no card data: codes, ids, scores).
    result = models.JSONField(default=dict, blank=True)
    # For a capture: the captured payment is to be disputed; for a confirm: the challenge outcome.
    params = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["created"], condition=Q(status="pending"), name="payments_operation_pending")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["authorize", "confirm", "capture", "void", "refund"]),
                name="payments_processoroperation_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "declined", "requires_action", "not_sent"]),
                name="payments_processoroperation_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.status}"


class ProcessorBreak(models.Model):
    """A difference between the processor's report of a day and paysys' processor operations.

    Written by ``payments.reconciliation.processor_reconcile``; a later run of the same day
    that no longer finds the difference marks it resolved. Operators read them in the admin,
    and ``verify_ledger`` names the unresolved ones.
    """

    class Kind(models.TextChoices):
        UNKNOWN_AT_PAYSYS = "unknown_at_paysys"  # the processor performed it; paysys has no operation
        UNKNOWN_AT_PROCESSOR = "unknown_at_processor"  # answered at paysys; not in the report
        AMOUNT_DIFFERS = "amount_differs"
        STATE_DIFFERS = "state_differs"  # e.g. pending or not_sent at paysys, performed there

    date = models.DateField()
    # The mode whose processor reported it: each mode is reconciled with its own processor.
    livemode = models.BooleanField(default=False)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    reference = models.CharField(max_length=REFERENCE_MAX_LENGTH)
    operation = models.ForeignKey(
        ProcessorOperation, null=True, blank=True, on_delete=models.PROTECT, related_name="breaks"
    )
    # What each side recorded: kind, amount, currency, status (and the processor's time).
    paysys = models.JSONField(default=dict, blank=True)
    processor = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["date"], condition=Q(resolved_at__isnull=True), name="payments_break_open")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "reference", "kind"],
                name="payments_processorbreak_date_reference_kind_unique",
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=["unknown_at_paysys", "unknown_at_processor", "amount_differs", "state_differs"]
                ),
                name="payments_processorbreak_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.kind} {self.reference}"
