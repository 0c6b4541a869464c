"""Settlement batches, per-merchant settlements, their lines, payouts and payout holds.

Amounts are django-money ``MoneyField``s (3 decimal places, upper-case ISO 4217); the amounts
of one row share one ``currency`` column, so a row cannot mix currencies. The money itself
lives in the ledger: a settlement names the journal transactions it moved, and each line the
entry it settled (``settlements_settlementline_entry_once``: an entry is settled once).
See ``settlements.services.run`` for how a run works.
"""

from django.db import models
from django.db.models import Q
from djmoney.models.fields import MoneyField

from paysys.audit.history import HistoricalRecords
from paysys.ids import ID_MAX_LENGTH, new_id

AMOUNT_MAX_DIGITS = 19
AMOUNT_DECIMAL_PLACES = 3
CURRENCY_FIELD = "currency"
REASON_MAX_LENGTH = 500
CODE_MAX_LENGTH = 64


def _money(**kwargs) -> MoneyField:
    return MoneyField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        currency_field_name=CURRENCY_FIELD,
        currency_max_length=3,
        # Any code: paysys.money decides which currencies are money; the ledger refused the rest.
        currency_choices=(),
        **kwargs,
    )


def new_settlement_id() -> str:
    return new_id("set")


def new_payout_id() -> str:
    return new_id("po")


class SettlementBatch(models.Model):
    """One run date: every merchant's settlements of that date, and what failed."""

    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"
        COMPLETED_WITH_FAILURES = "completed_with_failures"

    date = models.DateField()
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.RUNNING)
    settlements_count = models.PositiveIntegerField(default=0)
    lines_count = models.PositiveBigIntegerField(default=0)
    failures_count = models.PositiveIntegerField(default=0)
    # [{"merchant", "currency", "livemode", "error", "message"}] of the latest run's failures.
    failures = models.JSONField(default=list, blank=True)
    runs = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-date"]
        verbose_name_plural = "settlement batches"
        permissions = [("run_settlement", "Can run a settlement batch again")]
        constraints = [
            models.UniqueConstraint(fields=["date"], name="settlements_settlementbatch_date_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["running", "completed", "completed_with_failures"]),
                name="settlements_settlementbatch_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"batch {self.date} {self.status}"


class Settlement(models.Model):
    """One merchant's settlement in one currency and mode on one batch date.

    ``net = gross - fees - refunds - disputes + adjustments - reserve_withheld + reserve_released``.
    ``completed``: the net moved ``pending`` → ``available`` (and ``reserve``) in ``transaction``,
    then out to a payout. ``carried_forward``: the net was negative, nothing moved and no line
    was claimed; the same entries are settled by a later settlement, against its captures.
    """

    TENANT_FIELDS = ("merchant", "livemode")

    class Status(models.TextChoices):
        COMPLETED = "completed"
        CARRIED_FORWARD = "carried_forward"

    public_id = models.CharField(max_length=ID_MAX_LENGTH, default=new_settlement_id, editable=False)
    batch = models.ForeignKey(SettlementBatch, on_delete=models.PROTECT, related_name="settlements")
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="settlements", db_index=False
    )
    livemode = models.BooleanField(default=False)
    status = models.CharField(max_length=32, choices=Status.choices)
    gross = _money()
    fees = _money()
    refunds = _money()
    disputes = _money()
    adjustments = _money()
    reserve_withheld = _money()
    reserve_released = _money()
    net = _money()
    count = models.PositiveIntegerField(default=0)
    # Entries created before this instant were in scope (the run date less the merchant's delay).
    period_end = models.DateTimeField()
    # When the reserve withheld here is due back, and the settlement that released it.
    reserve_release_on = models.DateField(null=True, blank=True)
    reserve_released_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    transaction = models.ForeignKey(
        "accounts.JournalTransaction",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="settlements_set_merchant"),
            models.Index(
                fields=["merchant", "currency", "livemode", "reserve_release_on"],
                condition=Q(reserve_released_by__isnull=True, reserve_release_on__isnull=False),
                name="settlements_reserve_due",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="settlements_settlement_public_id_unique"),
            models.UniqueConstraint(
                fields=["batch", "merchant", "currency", "livemode"],
                name="settlements_settlement_one_per_batch_merchant_currency_mode",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["completed", "carried_forward"]),
                name="settlements_settlement_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="settlements_settlement_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(
                    net=models.F("gross")
                    - models.F("fees")
                    - models.F("refunds")
                    - models.F("disputes")
                    + models.F("adjustments")
                    - models.F("reserve_withheld")
                    + models.F("reserve_released")
                ),
                name="settlements_settlement_net_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(status="carried_forward", net__lt=0, transaction__isnull=True)
                | Q(status="completed", net__gte=0),
                name="settlements_settlement_negative_net_carried",
            ),
            models.CheckConstraint(
                condition=Q(reserve_withheld__gte=0, reserve_released__gte=0),
                name="settlements_settlement_reserve_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.net} {self.status}"


class LineType(models.TextChoices):
    PAYMENT = "payment"
    TRANSFER = "transfer"  # a split payment's part received from another merchant
    FEE = "fee"
    REFUND = "refund"
    DISPUTE = "dispute"
    ADJUSTMENT = "adjustment"
    RESERVE_WITHHELD = "reserve_withheld"
    RESERVE_RELEASED = "reserve_released"


class SettlementLine(models.Model):
    """One settled ledger entry of the merchant's ``pending`` account, or a reserve movement.

    ``amount`` is the entry (signed, + to the merchant); ``fee`` the fee it carries;
    ``gross = amount + fee``. Never changed after the settlement's transaction commits.
    """

    Type = LineType

    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="lines")
    type = models.CharField(max_length=32, choices=Type.choices)
    # The business object: pay_..., re_..., dp_..., or the settlement for reserve movements.
    source = models.CharField(max_length=ID_MAX_LENGTH, blank=True, default="")
    entry = models.OneToOneField(
        "accounts.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    transaction = models.ForeignKey(
        "accounts.JournalTransaction", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    amount = _money()
    fee = _money()
    gross = _money()
    created = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=LineType.values), name="settlements_settlementline_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(gross=models.F("amount") + models.F("fee")),
                name="settlements_settlementline_gross_is_amount_plus_fee",
            ),
            models.CheckConstraint(
                condition=Q(entry__isnull=False) | Q(type__in=["reserve_withheld", "reserve_released"]),
                name="settlements_settlementline_entry_unless_reserve",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.source} {self.amount}"


class EntryWatermark(models.Model):
    """Where a merchant ``pending`` account's unsettled entries start: every entry of the
    account with a lower id is settled or is a settlement's own posting (never settled).

    The run's statements read the account's entries from here on, so settled history is never
    read again. Moved only by the claim (``sql/lines_claim.sql``), in the settlement's
    transaction and after the account and its balance shards are locked: no posting to the
    account is in flight, so no entry can appear below it later (docs/decisions.md, "The
    settlement watermark"). No history: it is derived from the lines and can be recomputed.
    """

    account = models.OneToOneField(
        "accounts.LedgerAccount", primary_key=True, on_delete=models.PROTECT, related_name="+"
    )
    entry_id = models.BigIntegerField()
    updated = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.account_id} from entry {self.entry_id}"


class Payout(models.Model):
    """A settlement's net on its way to the merchant's bank.

    The funds leave ``available`` for the platform's ``payouts_in_transit`` when the payout is
    created (``transaction``), on hold or not, so nothing else can spend them; a failed payout
    posts them back (``return_transaction``); a paid one leaves the platform (``paid_transaction``).
    """

    TENANT_FIELDS = ("merchant", "livemode")

    class Status(models.TextChoices):
        PENDING = "pending"
        IN_TRANSIT = "in_transit"
        PAID = "paid"
        FAILED = "failed"
        ON_HOLD = "on_hold"

    public_id = models.CharField(max_length=ID_MAX_LENGTH, default=new_payout_id, editable=False)
    settlement = models.OneToOneField(Settlement, on_delete=models.PROTECT, related_name="payout")
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="payouts", db_index=False
    )
    livemode = models.BooleanField(default=False)
    amount = _money()
    status = models.CharField(max_length=16, choices=Status.choices)
    arrival_date = models.DateField(null=True, blank=True)
    failure_code = models.CharField(max_length=CODE_MAX_LENGTH, blank=True, default="")
    bank_reference = models.CharField(max_length=128, blank=True, default="")
    transaction = models.ForeignKey(
        "accounts.JournalTransaction", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    paid_transaction = models.ForeignKey(
        "accounts.JournalTransaction",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    return_transaction = models.ForeignKey(
        "accounts.JournalTransaction",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated"])

    class Meta:
        ordering = ["-id"]
        permissions = [("hold_payout", "Can hold and release a merchant's payouts")]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="settlements_po_merchant"),
            models.Index(
                fields=["status"],
                condition=Q(status__in=["pending", "in_transit"]),
                name="settlements_po_open",
            ),
            # Payouts an operator holds (the dashboard's counter).
            models.Index(fields=["merchant"], condition=Q(status="on_hold"), name="settlements_po_on_hold"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="settlements_payout_public_id_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="settlements_payout_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "in_transit", "paid", "failed", "on_hold"]),
                name="settlements_payout_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="paid", paid_transaction__isnull=False)
                | Q(status="failed", return_transaction__isnull=False)
                | Q(status__in=["pending", "in_transit", "on_hold"]),
                name="settlements_payout_outcome_posted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount} {self.status}"


class PayoutHold(models.Model):
    """An operator's hold on a merchant's payouts: while one is open (``released_at`` empty),
    the merchant's payouts wait ``on_hold``."""

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="payout_holds")
    reason = models.CharField(max_length=REASON_MAX_LENGTH)
    held_by = models.CharField(max_length=64, blank=True, default="")
    release_reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True, default="")
    released_by = models.CharField(max_length=64, blank=True, default="")
    released_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant"],
                condition=Q(released_at__isnull=True),
                name="settlements_payouthold_one_open_per_merchant",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="settlements_payouthold_reason_nonempty"),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | ~Q(release_reason=""),
                name="settlements_payouthold_release_reason_nonempty",
            ),
        ]

    def __str__(self) -> str:
        return f"hold on {self.merchant_id}: {self.reason}"


class SettlementBreak(models.Model):
    """A difference reconciliation found after a batch: what, expected, found. ``verify_ledger``
    fails while one is unresolved; an operator resolves it with a reason."""

    class Kind(models.TextChoices):
        LINE_DIFFERS_FROM_ENTRY = "line_differs_from_entry"
        POSTING_DIFFERS_FROM_LINES = "posting_differs_from_lines"
        TOTALS_DIFFER_FROM_LINES = "totals_differ_from_lines"
        RESERVE_DIFFERS_FROM_LINES = "reserve_differs_from_lines"
        PAYOUT_DIFFERS_FROM_NET = "payout_differs_from_net"
        LINE_DIFFERS_FROM_SOURCE = "line_differs_from_source"

    batch = models.ForeignKey(SettlementBatch, on_delete=models.PROTECT, related_name="breaks")
    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="breaks")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # What differs: the line, entry or object named (``line sl_12``, ``payment pay_...``).
    what = models.CharField(max_length=200)
    expected = models.CharField(max_length=64)
    found = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=64, blank=True, default="")
    resolution = models.CharField(max_length=REASON_MAX_LENGTH, blank=True, default="")

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        permissions = [("resolve_settlementbreak", "Can resolve a settlement reconciliation break")]
        indexes = [
            models.Index(
                fields=["batch"], condition=Q(resolved_at__isnull=True), name="settlements_break_open"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["settlement", "kind", "what"], name="settlements_settlementbreak_once_per_difference"
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "line_differs_from_entry",
                        "posting_differs_from_lines",
                        "totals_differ_from_lines",
                        "reserve_differs_from_lines",
                        "payout_differs_from_net",
                        "line_differs_from_source",
                    ]
                ),
                name="settlements_settlementbreak_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | ~Q(resolution=""),
                name="settlements_settlementbreak_resolution_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.what}: expected {self.expected}, found {self.found}"
