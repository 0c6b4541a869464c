"""Payment methods, payments, refunds, disputes, processor operations and the risk blocklist.

Amounts are ``DecimalField(19, 3)`` beside one upper-case ``currency`` column per row, as in
the ledger: every amount of a payment shares its currency, so one column states it once and
set-based SQL (settlements, reports) reads amounts directly. Services hand out ``Money``; the
API converts to integer minor units in ``paysys.money`` only.

What the database guarantees (named constraints): amounts are positive where they must be;
``0 <= amount_refunded <= amount_captured <= amount``; the capturable amount never exceeds the
amount; a payment has exactly one source (a card token or a wallet account); a processor
operation's ``reference`` is unique, so one operation is sent once; one dispute per payment.

No column holds a card number or CVC: a payment method keeps brand, last4, expiry, the keyed
fingerprint and the processor's token (see ``payments.processor.simulator``).
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from moneyed import Money

from payments.states import Status
from paysys.audit.history import HistoricalRecords
from paysys.ids import ID_MAX_LENGTH, new_id

AMOUNT_MAX_DIGITS = 19
AMOUNT_DECIMAL_PLACES = 3
ZERO = Decimal("0.000")
STATUS_MAX_LENGTH = 32
CODE_MAX_LENGTH = 64
MESSAGE_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 1000
REFERENCE_MAX_LENGTH = 128


def _amount(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, **kwargs)


def new_payment_method_id() -> str:
    return new_id("pm")


def new_payment_id() -> str:
    return new_id("pay")


def new_refund_id() -> str:
    return new_id("re")


def new_dispute_id() -> str:
    return new_id("dp")


def new_top_up_id() -> str:
    return new_id("tu")


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
    currency = models.CharField(max_length=3)
    amount = _amount()
    amount_capturable = _amount(default=ZERO)
    amount_captured = _amount(default=ZERO)
    amount_refunded = _amount(default=ZERO)
    # Computed once, at capture, from the merchant's fee plan (half-up to the minor unit).
    fee = _amount(default=ZERO)
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
        ]
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="payments_payment_merchant"),
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
        return f"{self.public_id} {self.amount} {self.currency} {self.status}"

    def money(self, value: Decimal) -> Money:
        return Money(value, self.currency)

    @property
    def refunded(self) -> bool:
        return self.amount_captured > 0 and self.amount_refunded == self.amount_captured

    @property
    def amount_transferred(self) -> Decimal:
        """What the split transfers (``transfer_data``) send to connected merchants at capture."""
        return sum((Decimal(t["amount"]) for t in self.transfer_data), Decimal(0))

    @property
    def net(self) -> Decimal:
        """What the merchant keeps of the capture: less the fee and the split transfers."""
        if not self.amount_captured:
            return Decimal(0)
        return self.amount_captured - self.fee - self.amount_transferred


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
    amount = _amount(null=True, blank=True)
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
    amount = _amount()
    currency = models.CharField(max_length=3)
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
        return f"{self.public_id} {self.amount} {self.currency} {self.status}"


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
    amount = _amount()
    fee = _amount(default=ZERO)
    # The part of amount + fee the merchant's balances could not cover at opening, carried by
    # the platform's dispute_losses account (recovered first if the dispute is won).
    platform_shortfall = _amount(default=ZERO)
    currency = models.CharField(max_length=3)
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
        indexes = [models.Index(fields=["merchant", "-id"], name="payments_dispute_merchant")]
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
        return f"{self.public_id} {self.amount} {self.currency} {self.status}"


class BlocklistEntry(models.Model):
    class Kind(models.TextChoices):
        FINGERPRINT = "fingerprint"
        IP = "ip"
        EMAIL = "email"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    # A card fingerprint, an IP address, or a lower-cased e-mail address.
    value = models.CharField(max_length=255)
    reason = models.CharField(max_length=255, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "blocklist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"], name="payments_blocklistentry_kind_value_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["fingerprint", "ip", "email"]),
                name="payments_blocklistentry_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


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
    amount = _amount()
    currency = models.CharField(max_length=3)
    metadata = models.JSONField(default=dict, blank=True)
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
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
        return f"{self.public_id} {self.amount} {self.currency} {self.status}"

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
