"""The settlement run: per merchant, currency and mode, what the ledger's ``pending`` account
received and lost up to the cut-off moves to ``available`` (less a rolling reserve), then out
to a payout.

What a run of date D guarantees
-------------------------------
- Scope: every entry of a merchant's ``pending`` account created before the merchant's period
  end, ``D 00:00 UTC - (settlement_delay_days - 1) days`` (T+1 by default: what was captured on
  D-1 settles on D), that no settlement holds yet. Entries, not payments: the ledger's lines are
  what moved, so a settlement cannot disagree with the ledger (captures, split transfers in,
  wallet fees, refunds and failed-refund reversals, disputes and won disputes).
- Set-based: one statement lists what the batch must settle (``sql/candidates.sql``), one
  statement per settlement claims its lines and returns their totals (``sql/lines_claim.sql``);
  no Python loop per payment. Both read a pending account's entries from its watermark on
  (``EntryWatermark``): settled history is not read again.
- One transaction per merchant, currency and mode: the settlement row, its lines, the watermark,
  the reserve releases it makes, its postings and its payout commit together or not at all. It
  first locks the ``pending`` account and its balance shards, so no posting to it is in flight
  while the claim reads it and moves the watermark.
- Idempotent and resumable: one batch per date; one settlement per batch, merchant, currency
  and mode, and one line per entry (unique constraints). A rerun of the date settles only what
  has no settlement yet (the failed and the not-yet-reached after a crash) and changes nothing
  else.
- Failures stay local: a merchant whose settlement raises is recorded on the batch (merchant,
  currency, mode, error) and the run goes on; the next run of the date retries it.
- One run at a time: a run holds a PostgreSQL advisory lock for its whole duration; a second
  run raises ``SettlementRunInProgressError`` before touching anything.
- Reconciled: after the merchants, the batch is reconciled (``settlements.services.reconcile``).
- Never a negative payout: when a settlement's lines sum below zero it is recorded
  ``carried_forward`` with its figures, nothing moves and no line is claimed: the same entries
  are settled later, netted against the captures that follow (the debt carried forward).

Postings (``accounts.services.ledger_post``), in one journal transaction
``settlement:<set_id>``: ``pending`` -M, ``reserve`` +(W - R), ``available`` +(M - W + R) where M
is the lines' sum, W the reserve withheld (``reserve_percent`` of the settlement's gross, at
most M, released ``reserve_period_days`` later) and R the reserves now due (at most what the
``reserve`` account still holds: refunds and disputes may have drawn on it). The payout then
takes the net from ``available`` (``settlements.services.payouts``).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from accounts.models import AccountKind, TransactionKind
from accounts.selectors import account_balance_get
from accounts.services import (
    PostingLine,
    account_shards_lock,
    accounts_lock,
    ledger_atomic,
    ledger_post,
    merchant_accounts_open,
    platform_account_get,
)
from merchants.models import Merchant
from paysys.audit.services import audit_record
from paysys.errors import NotFoundError
from paysys.events.services import event_emit
from paysys.money import round_half_up
from settlements import persistence
from settlements.errors import SettlementRunInProgressError
from settlements.models import LineType, Settlement, SettlementBatch, SettlementLine
from settlements.serializers import settlement_object
from settlements.services.payouts import payout_create
from settlements.services.reconcile import settlement_batch_reconcile

logger = logging.getLogger("paysys.settlements")

PERCENT = Decimal(100)
# Line types whose gross is the merchant's sales (the reserve's base).
SALES_TYPES = (LineType.PAYMENT, LineType.TRANSFER, LineType.FEE)
ERROR_MESSAGE_MAX_LENGTH = 500


@dataclass
class SettlementRunResult:
    batch: SettlementBatch
    settled: int = 0
    carried_forward: int = 0
    failed: int = 0
    lines: int = 0
    breaks: int = 0  # the batch's open reconciliation breaks after the run
    failures: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class _Figures:
    gross: Decimal
    fees: Decimal
    refunds: Decimal
    disputes: Decimal
    adjustments: Decimal
    count: int

    @property
    def moved(self) -> Decimal:
        return self.gross - self.fees - self.refunds - self.disputes + self.adjustments


@dataclass(frozen=True)
class _Accounts:
    pending: int
    available: int
    reserve: int
    payouts_in_transit: int


def _figures(totals: dict[str, persistence.LineTotals]) -> _Figures:
    def total(types, attr: str) -> Decimal:
        return sum((getattr(totals[t], attr) for t in types if t in totals), Decimal(0))

    return _Figures(
        gross=total(SALES_TYPES, "gross"),
        fees=total(SALES_TYPES, "fee"),
        refunds=-total([LineType.REFUND], "amount"),
        disputes=-total([LineType.DISPUTE], "amount"),
        adjustments=total([LineType.ADJUSTMENT], "amount"),
        count=sum(t.count for t in totals.values()),
    )


def settlement_period_end(*, day: date, delay_days: int) -> datetime:
    """The cut-off of run date ``day`` for a merchant settling T+``delay_days`` (at least 1);
    the same rule as ``sql/candidates.sql``."""
    midnight = datetime.combine(day, time.min, tzinfo=UTC)
    return midnight - timedelta(days=max(delay_days, 1) - 1)


def _reserve_withheld(merchant: Merchant, figures: _Figures, currency: str) -> Decimal:
    if merchant.reserve_percent <= 0 or merchant.reserve_period_days <= 0 or figures.gross <= 0:
        return Decimal(0)
    withheld = round_half_up(figures.gross * merchant.reserve_percent / PERCENT, currency)
    return max(min(withheld, figures.moved), Decimal(0))


def _reserve_release(*, settlement: Settlement, reserve_pk: int, day: date) -> Decimal:
    """Mark the merchant's reserves due on ``day`` released by ``settlement``; the amount that
    comes back: their sum, at most what the reserve account still has."""
    due = list(
        Settlement.objects.select_for_update(of=("self",))
        .filter(
            merchant_id=settlement.merchant_id,
            currency=settlement.currency,
            livemode=settlement.livemode,
            reserve_release_on__lte=day,
            reserve_released_by__isnull=True,
        )
        .exclude(pk=settlement.pk)
        .order_by("pk")
    )
    if not due:
        return Decimal(0)
    for withheld in due:
        withheld.reserve_released_by = settlement
        withheld.save(update_fields=["reserve_released_by"])
    owed = sum((s.reserve_withheld.amount for s in due), Decimal(0))
    held = account_balance_get(account_id=reserve_pk).available.amount
    return max(min(owed, held), Decimal(0))


def _post(
    *,
    settlement: Settlement,
    merchant: Merchant,
    accounts: _Accounts,
    moved: Decimal,
    withheld: Decimal,
    released: Decimal,
):
    currency = settlement.currency
    amounts = [
        (accounts.pending, -moved),
        (accounts.reserve, withheld - released),
        (accounts.available, moved - withheld + released),
    ]
    lines = [PostingLine(pk, Money(amount, currency)) for pk, amount in amounts if amount != 0]
    if not lines:
        return None
    return ledger_post(
        reference=f"settlement:{settlement.public_id}",
        kind=TransactionKind.SETTLEMENT,
        lines=lines,
        metadata={"settlement": settlement.public_id, "date": settlement.batch.date.isoformat()},
        merchant_id=merchant.public_id,
    ).transaction


def _reserve_lines(settlement: Settlement, *, withheld: Decimal, released: Decimal) -> None:
    currency = settlement.currency
    zero = Money(0, currency)
    now = timezone.now()
    lines = [
        (LineType.RESERVE_WITHHELD, -withheld),
        (LineType.RESERVE_RELEASED, released),
    ]
    SettlementLine.objects.bulk_create(
        SettlementLine(
            settlement=settlement,
            type=kind,
            source=settlement.public_id,
            transaction_id=settlement.transaction_id,
            amount=Money(amount, currency),
            fee=zero,
            gross=Money(amount, currency),
            created=now,
        )
        for kind, amount in lines
        if amount != 0
    )


def _settlement_record(settlement: Settlement, merchant: Merchant) -> None:
    audit_record(
        event_type=f"settlement.{settlement.status}",
        object_type="settlement",
        object_id=settlement.public_id,
        new_state=settlement.status,
        amount=settlement.net.amount,
        currency=settlement.currency,
        merchant_id=merchant.public_id,
        metadata={"date": settlement.batch.date.isoformat(), "lines": settlement.count},
    )
    if settlement.status == Settlement.Status.COMPLETED:
        event_emit(
            event_type="settlement.completed",
            merchant_id=merchant.public_id,
            object_type="settlement",
            data={"object": settlement_object(settlement)},
            livemode=settlement.livemode,
        )


@ledger_atomic
def _merchant_settle(
    *, batch: SettlementBatch, candidate: persistence.Candidate, accounts: _Accounts
) -> Settlement:
    """Settle one merchant account of the batch in one transaction. The candidates were listed
    under the run lock, so no settlement of this batch holds the account yet (and the unique
    constraint stands guard)."""
    c = candidate
    merchant = Merchant.objects.get(pk=c.merchant_pk)
    # No posting to the pending account is in flight while the claim reads it and moves its
    # watermark: the account row waits for debits, its shards for credits.
    accounts_lock([accounts.pending])
    account_shards_lock(accounts.pending)
    zero = Money(0, c.currency)
    settlement = Settlement.objects.create(
        batch=batch,
        merchant=merchant,
        livemode=c.livemode,
        status=Settlement.Status.COMPLETED,
        **{name: zero for name in ("gross", "fees", "refunds", "disputes", "adjustments")},
        reserve_withheld=zero,
        reserve_released=zero,
        net=zero,
        period_end=c.period_end,
    )
    claim = persistence.lines_claim(
        settlement_pk=settlement.pk,
        account_pk=accounts.pending,
        merchant_id=merchant.public_id,
        period_end=c.period_end,
    )
    figures = _figures(claim.totals)
    for name in ("gross", "fees", "refunds", "disputes", "adjustments"):
        setattr(settlement, name, Money(getattr(figures, name), c.currency))
    settlement.count = figures.count
    if not claim.claimed:
        # The debt is carried forward: its entries stay unsettled.
        settlement.status = Settlement.Status.CARRIED_FORWARD
        settlement.net = Money(figures.moved, c.currency)
        settlement.save()
        _settlement_record(settlement, merchant)
        return settlement
    withheld = _reserve_withheld(merchant, figures, c.currency)
    released = (
        _reserve_release(settlement=settlement, reserve_pk=accounts.reserve, day=batch.date)
        if c.reserve_due
        else Decimal(0)
    )
    net = figures.moved - withheld + released
    settlement.reserve_withheld = Money(withheld, c.currency)
    settlement.reserve_released = Money(released, c.currency)
    settlement.net = Money(net, c.currency)
    if withheld > 0:
        settlement.reserve_release_on = batch.date + timedelta(days=merchant.reserve_period_days)
    settlement.transaction = _post(
        settlement=settlement,
        merchant=merchant,
        accounts=accounts,
        moved=figures.moved,
        withheld=withheld,
        released=released,
    )
    settlement.save()
    _reserve_lines(settlement, withheld=withheld, released=released)
    if net > 0:
        payout_create(
            settlement=settlement, available_pk=accounts.available, in_transit_pk=accounts.payouts_in_transit
        )
    _settlement_record(settlement, merchant)
    return settlement


def _accounts_get(candidate: persistence.Candidate, in_transit: dict[tuple[str, bool], int]) -> _Accounts:
    """The ledger accounts a candidate's settlement moves; ``in_transit``: the platform's
    ``payouts_in_transit`` per currency and mode, looked up once per run."""
    c = candidate
    key = (c.currency, c.livemode)
    if key not in in_transit:
        in_transit[key] = platform_account_get(
            kind=AccountKind.PAYOUTS_IN_TRANSIT, currency=c.currency, livemode=c.livemode
        ).pk
    available, reserve = c.available_account_pk, c.reserve_account_pk
    if available is None or reserve is None:
        opened = merchant_accounts_open(merchant_id=c.merchant_id, currency=c.currency, livemode=c.livemode)
        available, reserve = opened[AccountKind.AVAILABLE].pk, opened[AccountKind.RESERVE].pk
    return _Accounts(
        pending=c.pending_account_pk, available=available, reserve=reserve, payouts_in_transit=in_transit[key]
    )


def _merchant_pk(merchant: Merchant | str | None) -> int | None:
    if merchant is None or isinstance(merchant, Merchant):
        return merchant.pk if merchant is not None else None
    pk = Merchant.objects.filter(public_id=merchant).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFoundError(f"No such merchant: {merchant}.", param="merchant")
    return pk


def _batch_start(day: date) -> SettlementBatch:
    batch, _ = SettlementBatch.objects.get_or_create(date=day)
    batch.status = SettlementBatch.Status.RUNNING
    batch.runs += 1
    batch.started_at = timezone.now()
    batch.finished_at = None
    batch.save()
    return batch


def _batch_finish(batch: SettlementBatch, failures: list[dict]) -> SettlementBatch:
    batch.failures = failures
    batch.failures_count = len(failures)
    batch.settlements_count = batch.settlements.count()
    batch.lines_count = SettlementLine.objects.filter(settlement__batch=batch).count()
    batch.status = (
        SettlementBatch.Status.COMPLETED_WITH_FAILURES if failures else SettlementBatch.Status.COMPLETED
    )
    batch.finished_at = timezone.now()
    with transaction.atomic():
        batch.save()
        audit_record(
            event_type="settlement_batch.finished",
            object_type="settlement_batch",
            object_id=batch.date.isoformat(),
            new_state=batch.status,
            metadata={"settlements": batch.settlements_count, "failures": batch.failures_count},
        )
    return batch


def settlement_run(
    *,
    date: date | None = None,
    merchant: Merchant | str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SettlementRunResult:
    """Settle every merchant (or one: a ``Merchant`` or its public id) for run date ``date``
    (today, UTC, by default). See the module docstring for the guarantees.

    ``on_progress(done, total)`` is called after each merchant account. Raises
    ``SettlementRunInProgressError`` when another run holds the run lock. Call it outside any
    transaction: it owns one per merchant (an adapter's transaction would make one merchant's
    failure everyone's).
    """
    day = date or timezone.now().date()
    merchant_pk = _merchant_pk(merchant)
    if not persistence.run_lock_try():
        raise SettlementRunInProgressError("Another settlement run is in progress; nothing was settled.")
    try:
        batch = _batch_start(day)
        result = SettlementRunResult(batch=batch)
        candidates = persistence.candidates_list(
            batch_pk=batch.pk,
            day=day,
            midnight=settlement_period_end(day=day, delay_days=1),
            merchant_pk=merchant_pk,
        )
        # A run for one merchant leaves the other merchants' recorded failures as they were.
        failures = [f for f in batch.failures if merchant_pk is not None and f["merchant_pk"] != merchant_pk]
        in_transit: dict[tuple[str, bool], int] = {}
        for done, candidate in enumerate(candidates, start=1):
            try:
                settlement = _merchant_settle(
                    batch=batch, candidate=candidate, accounts=_accounts_get(candidate, in_transit)
                )
            except Exception as exc:  # recorded on the batch; the others go on
                logger.exception("settlement of %s %s failed", candidate.merchant_id, candidate.currency)
                failures.append(
                    {
                        "merchant": candidate.merchant_id,
                        "merchant_pk": candidate.merchant_pk,
                        "currency": candidate.currency,
                        "livemode": candidate.livemode,
                        "error": type(exc).__name__,
                        "message": str(exc)[:ERROR_MESSAGE_MAX_LENGTH],
                    }
                )
                result.failed += 1
            else:
                if settlement.status == Settlement.Status.CARRIED_FORWARD:
                    result.carried_forward += 1
                else:
                    result.settled += 1
                    result.lines += settlement.count
            if on_progress is not None:
                on_progress(done, len(candidates))
        result.failures = failures
        result.breaks = len(settlement_batch_reconcile(batch=batch))
        result.batch = _batch_finish(batch, failures)
        return result
    finally:
        persistence.run_lock_release()
