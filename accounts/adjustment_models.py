"""A manual ledger adjustment, proposed by one operator and decided by another (maker-checker).

Only an approval posts, through the ledger's posting function (``accounts.adjustments``). The
rules the database can hold are constraints here: the decider is never the proposer, an approved
adjustment names its journal transaction and a proposed or rejected one none, the two accounts
differ and the amount is positive. The amount is a django-money ``MoneyField`` whose currency is
the row's one upper-case ``currency`` column.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from djmoney.models.fields import MoneyField

from paysys.audit.history import HistoricalRecords
from paysys.ids import ID_MAX_LENGTH, new_id

AMOUNT_MAX_DIGITS = 19
AMOUNT_DECIMAL_PLACES = 3
REASON_MAX_LENGTH = 500


def new_adjustment_id() -> str:
    return new_id("adj")


class AdjustmentStatus(models.TextChoices):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


class Adjustment(models.Model):
    public_id = models.CharField(
        max_length=ID_MAX_LENGTH, unique=True, default=new_adjustment_id, editable=False
    )
    debit_account = models.ForeignKey(
        "accounts.LedgerAccount", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    credit_account = models.ForeignKey(
        "accounts.LedgerAccount", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    amount = MoneyField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        currency_field_name="currency",
        currency_max_length=3,
        # Any code: paysys.money and the ledger decide which currencies are money.
        currency_choices=(),
    )
    reason = models.CharField(max_length=REASON_MAX_LENGTH)
    status = models.CharField(
        max_length=16, choices=AdjustmentStatus.choices, default=AdjustmentStatus.PROPOSED
    )
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    transaction = models.OneToOneField(
        "accounts.JournalTransaction",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="adjustment",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        app_label = "accounts"
        ordering = ["-id"]
        # No add/change/delete: an adjustment is proposed and decided through the service.
        default_permissions = ("view",)
        permissions = [
            ("propose_adjustment", "Can propose a manual ledger adjustment"),
            ("approve_adjustment", "Can approve or reject another operator's ledger adjustment"),
        ]
        indexes = [
            models.Index(fields=["created"], condition=Q(status="proposed"), name="accounts_adj_proposed")
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="accounts_adjustment_amount_positive"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="accounts_adjustment_currency_iso"
            ),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")),
                name="accounts_adjustment_distinct_accounts",
            ),
            models.CheckConstraint(
                condition=Q(status__in=AdjustmentStatus.values), name="accounts_adjustment_status_valid"
            ),
            # Maker-checker: whoever proposed never decides.
            models.CheckConstraint(
                condition=~Q(decided_by=F("proposed_by")), name="accounts_adjustment_decider_not_proposer"
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        status=AdjustmentStatus.PROPOSED,
                        decided_by__isnull=True,
                        decided_at__isnull=True,
                        transaction__isnull=True,
                    )
                    | Q(
                        status=AdjustmentStatus.APPROVED,
                        decided_by__isnull=False,
                        decided_at__isnull=False,
                        transaction__isnull=False,
                    )
                    | Q(
                        status=AdjustmentStatus.REJECTED,
                        decided_by__isnull=False,
                        decided_at__isnull=False,
                        transaction__isnull=True,
                    )
                ),
                name="accounts_adjustment_decision_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount} {self.status}"
