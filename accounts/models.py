"""The ledger's tables. Rules that can live in the database do (named constraints and, on
PostgreSQL, triggers installed by migrations); the posting logic is in ``accounts.services``.

Amounts are ``DecimalField(19, 3)`` beside a ``currency`` column (upper-case ISO 4217), so
set-based SQL (triggers, ``verify_ledger``, settlements) reads them directly; services hand out
``moneyed.Money`` through the ``*_money`` properties.

An account's posted balance is ``posted_base`` plus the sum of its ``LedgerBalanceShard`` rows
(credits land on one shard so a hot account does not serialize its payers; see the services
module). ``pending`` is the amount held by open holds; available = posted - pending.

Manual adjustments (maker-checker) live in ``accounts.adjustment_models``.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTransform
from moneyed import Money

from accounts.adjustment_models import Adjustment, AdjustmentStatus  # noqa: F401 (the app's models)
from paysys.audit.history import HistoricalRecords
from paysys.ids import ID_MAX_LENGTH, new_id
from paysys.money import money_display

AMOUNT_MAX_DIGITS = 19
AMOUNT_DECIMAL_PLACES = 3
ZERO = Decimal("0.000")


def new_account_id() -> str:
    return new_id("acct")


def new_transaction_id() -> str:
    return new_id("txn")


def new_transfer_id() -> str:
    return new_id("tr")


def new_hold_id() -> str:
    return new_id("hold")


def _amount(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, **kwargs)


class OwnerType(models.TextChoices):
    PLATFORM = "platform"
    MERCHANT = "merchant"
    CUSTOMER = "customer"


class AccountKind(models.TextChoices):
    # Platform accounts (one per currency), allowed to go negative: they carry the other side.
    CARD_CLEARING = "card_clearing"
    FEES = "fees"
    PAYOUTS_IN_TRANSIT = "payouts_in_transit"
    DISPUTE_LOSSES = "dispute_losses"
    ADJUSTMENTS = "adjustments"
    WALLET_FUNDING = "wallet_funding"
    # Merchant accounts (one each per merchant and currency).
    PENDING = "pending"
    AVAILABLE = "available"
    RESERVE = "reserve"
    # Customer wallets, opened by merchants.
    WALLET = "wallet"


PLATFORM_KINDS = frozenset(
    {
        AccountKind.CARD_CLEARING,
        AccountKind.FEES,
        AccountKind.PAYOUTS_IN_TRANSIT,
        AccountKind.DISPUTE_LOSSES,
        AccountKind.ADJUSTMENTS,
        AccountKind.WALLET_FUNDING,
    }
)
MERCHANT_KINDS = frozenset({AccountKind.PENDING, AccountKind.AVAILABLE, AccountKind.RESERVE})
CUSTOMER_KINDS = frozenset({AccountKind.WALLET})
KINDS_BY_OWNER = {
    OwnerType.PLATFORM: PLATFORM_KINDS,
    OwnerType.MERCHANT: MERCHANT_KINDS,
    OwnerType.CUSTOMER: CUSTOMER_KINDS,
}


def overdraft_is_credit(*, owner_type: str, allow_negative: bool) -> bool:
    """Whether an account's negative balance would be money nobody paid in: an account that may
    go negative (an operator's decision) and is not the platform's. Such an account never
    credits an account a merchant owns (its ``pending``, ``available``, ``reserve`` or a
    customer wallet): the ledger refuses the posting (the database function ``ledger_post``,
    through which every posting goes). The platform's clearing accounts go negative by
    design, carrying the other side of money that entered the system."""
    return allow_negative and owner_type != OwnerType.PLATFORM


class AccountStatus(models.TextChoices):
    OPEN = "open"
    FROZEN = "frozen"
    CLOSED = "closed"


class LedgerAccount(models.Model):
    # The mode is the account's own column; entries, holds and transfers have their account's.
    TENANT_FIELDS = ("merchant_id", "livemode")  # see paysys.tenancy

    public_id = models.CharField(
        max_length=ID_MAX_LENGTH, unique=True, default=new_account_id, editable=False
    )
    owner_type = models.CharField(max_length=16, choices=OwnerType.choices)
    # The owning merchant's public id (``mer_...``); empty for platform accounts. No foreign
    # key: the ledger does not know the merchants app.
    merchant_id = models.CharField(max_length=ID_MAX_LENGTH, blank=True, default="")
    kind = models.CharField(max_length=32, choices=AccountKind.choices)
    currency = models.CharField(max_length=3)
    posted_base = _amount(default=ZERO)
    pending = _amount(default=ZERO)
    balance_shards = models.PositiveSmallIntegerField(default=1)
    allow_negative = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=AccountStatus.choices, default=AccountStatus.OPEN)
    # Test or live money (platform accounts too: each mode has its own chart of accounts). Never
    # changes; a posting never mixes modes (the ``accounts_entry_one_mode`` trigger).
    livemode = models.BooleanField(default=False, db_default=False)
    metadata = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["posted_base", "pending", "updated"])

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("set_overdraft", "Can allow or withdraw a merchant-owned account's overdraft"),
            ("freeze_ledgeraccount", "Can freeze and unfreeze a ledger account"),
        ]
        indexes = [models.Index(fields=["merchant_id", "currency"], name="accounts_acct_merchant_cur")]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner_type__in=OwnerType.values), name="accounts_ledgeraccount_owner_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=AccountStatus.values), name="accounts_ledgeraccount_status_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(owner_type=OwnerType.PLATFORM, merchant_id="")
                    | (~Q(owner_type=OwnerType.PLATFORM) & ~Q(merchant_id=""))
                ),
                name="accounts_ledgeraccount_merchant_matches_owner",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="accounts_ledgeraccount_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(pending__gte=0), name="accounts_ledgeraccount_pending_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(balance_shards__gte=1, balance_shards__lte=64),
                name="accounts_ledgeraccount_balance_shards_range",
            ),
            # One pending/available/reserve per merchant, mode and currency; one of each platform
            # kind per mode.
            models.UniqueConstraint(
                fields=["merchant_id", "livemode", "kind", "currency"],
                condition=~Q(owner_type=OwnerType.CUSTOMER),
                name="accounts_ledgeraccount_unique_kind_per_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.owner_type}:{self.merchant_id or '-'}:{self.kind} {self.currency}"


class LedgerBalanceShard(models.Model):
    """A part of an account's posted balance that takes unlocked postings (see the services module):
    credits, and on overdraft accounts debits too."""

    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="shards")
    shard = models.PositiveSmallIntegerField()
    amount = _amount(default=ZERO)
    # The account's flag, copied at open and by ``account_overdraft_set``: lets a CHECK see it.
    allow_negative = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "shard"], name="accounts_ledgerbalanceshard_unique_shard"
            ),
            # Without overdraft a shard only ever receives credits: the committed sum of the
            # shards is a lower bound of the balance, which makes the overdraft check safe
            # while credits are in flight.
            models.CheckConstraint(
                condition=Q(amount__gte=0) | Q(allow_negative=True),
                name="accounts_ledgerbalanceshard_nonnegative_unless_overdraft",
            ),
        ]

    def __str__(self) -> str:
        return f"shard {self.shard} of account {self.account_id}"


class TransactionKind(models.TextChoices):
    CAPTURE = "capture"
    REFUND = "refund"
    FEE = "fee"
    SETTLEMENT = "settlement"
    PAYOUT = "payout"
    TRANSFER = "transfer"
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"
    DISPUTE = "dispute"
    HOLD = "hold"
    FUNDING = "funding"


class JournalTransaction(models.Model):
    # Every posting inserts a row here, so the table carries only the indexes lookups use:
    # unique constraints (not ``unique=True``, which adds a LIKE index apiece) on the public id
    # and the reference, none on merchant_id (always read together with the public id).
    public_id = models.CharField(max_length=ID_MAX_LENGTH, default=new_transaction_id, editable=False)
    kind = models.CharField(max_length=16, choices=TransactionKind.choices)
    # The business key of the posting (``capture:pay_...``): the same reference posts once.
    reference = models.CharField(max_length=255)
    description = models.CharField(max_length=500, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    merchant_id = models.CharField(max_length=ID_MAX_LENGTH, blank=True, default="")
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals", db_index=False
    )  # indexed by the reversed-once constraint
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # A payment's transactions (its story, the entries filtered by payment).
            models.Index(KeyTransform("payment", "metadata"), name="accounts_txn_payment"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=TransactionKind.values), name="accounts_journaltransaction_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(reference=""), name="accounts_journaltransaction_reference_nonempty"
            ),
            models.UniqueConstraint(
                fields=["public_id"], name="accounts_journaltransaction_public_id_unique"
            ),
            models.UniqueConstraint(
                fields=["reference"], name="accounts_journaltransaction_reference_unique"
            ),
            # A reversal can be reversed only once: a second one would double the undo.
            models.UniqueConstraint(fields=["reverses"], name="accounts_journaltransaction_reversed_once"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.kind} {self.reference}"


class Entry(models.Model):
    """One line of a journal transaction. Immutable (a trigger rejects UPDATE and DELETE).

    ``amount`` is signed: + credits the account holder, - debits it.
    """

    TENANT_FIELDS = ("account__merchant_id", "account__livemode")

    # No single-column indexes: (transaction, account) and (account, -id) below lead with each.
    transaction = models.ForeignKey(
        JournalTransaction, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    amount = _amount()
    currency = models.CharField(max_length=3)
    # The account's posted balance this posting saw after applying its line (see services).
    balance_after = _amount(null=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "ledger entry"
        verbose_name_plural = "ledger entries"
        ordering = ["-id"]
        indexes = [models.Index(fields=["account", "-id"], name="accounts_entry_account_recent")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="accounts_entry_amount_nonzero"),
            models.UniqueConstraint(
                fields=["transaction", "account"], name="accounts_entry_one_line_per_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+} {self.currency} on {self.account_id} ({self.transaction_id})"

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, self.currency)


class HoldStatus(models.TextChoices):
    HELD = "held"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


class Hold(models.Model):
    public_id = models.CharField(max_length=ID_MAX_LENGTH, unique=True, default=new_hold_id, editable=False)
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="holds")
    amount = _amount()
    captured_amount = _amount(default=ZERO)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.HELD)
    reference = models.CharField(max_length=255, unique=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    transaction = models.ForeignKey(
        JournalTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["expires_at"], condition=Q(status="held"), name="accounts_hold_open_expiry")
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="accounts_hold_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured_amount__gte=0, captured_amount__lte=models.F("amount")),
                name="accounts_hold_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(status__in=HoldStatus.values), name="accounts_hold_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {money_display(self.amount, self.currency)} {self.status}"


class TransferStatus(models.TextChoices):
    POSTED = "posted"
    REVERSED = "reversed"


class Transfer(models.Model):
    # Both accounts share one mode (a posting never mixes modes): the source's is the transfer's.
    TENANT_FIELDS = ("merchant_id", "from_account__livemode")

    # Indexes for the lookups there are (public id, transaction, merchant's list), none on the
    # accounts: no query filters transfers by account, and accounts are closed, never deleted.
    public_id = models.CharField(max_length=ID_MAX_LENGTH, default=new_transfer_id, editable=False)
    merchant_id = models.CharField(max_length=ID_MAX_LENGTH)
    from_account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    to_account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="+", db_index=False)
    amount = _amount()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=500, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=TransferStatus.choices, default=TransferStatus.POSTED)
    transaction = models.OneToOneField(JournalTransaction, on_delete=models.PROTECT, related_name="transfer")
    reversal_transaction = models.OneToOneField(
        JournalTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_transfer"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["merchant_id", "-id"], name="accounts_transfer_merchant")]
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="accounts_transfer_public_id_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="accounts_transfer_amount_positive"),
            models.CheckConstraint(
                condition=~Q(from_account=models.F("to_account")), name="accounts_transfer_distinct_accounts"
            ),
            models.CheckConstraint(
                condition=Q(status__in=TransferStatus.values), name="accounts_transfer_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=TransferStatus.POSTED, reversal_transaction__isnull=True)
                | Q(status=TransferStatus.REVERSED, reversal_transaction__isnull=False),
                name="accounts_transfer_reversal_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {money_display(self.amount, self.currency)} {self.status}"

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, self.currency)


class LedgerVerification(models.Model):
    """The stored result of one ``ledger_verify`` run (nightly, or by command)."""

    ok = models.BooleanField()
    summary = models.JSONField(default=dict)
    failures = models.JSONField(default=list)
    duration_ms = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("run_ledgerverification", "Can run the ledger's verification now")]

    def __str__(self) -> str:
        return f"verification {self.pk} {'ok' if self.ok else 'FAILED'}"
