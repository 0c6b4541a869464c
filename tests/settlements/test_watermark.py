"""The watermark: a day's run reads a pending account's entries from where the last claim left
them, never the settled history, and no entry in flight at the claim is left behind it."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from djmoney.models.fields import MoneyField
from moneyed import Money

from accounts.models import AccountKind, Entry, TransactionKind
from accounts.services import PostingLine, ledger_post, merchant_account_get, platform_account_get
from settlements.models import EntryWatermark, Settlement, SettlementBatch, SettlementLine
from settlements.persistence import SQL_DIR
from settlements.services import settlement_period_end, settlement_run
from tests.settlements.conftest import pay, shifted_clock, tomorrow

THREAD_TIMEOUT_SECONDS = 60
# What settling one merchant account costs in statements, in its own transaction (see
# docs/benchmarks.md): the merchant; the pending account and its shards locked; the settlement
# and its history row; the claim; the settlement's posting (in a savepoint: three); the
# settlement saved and its history row; the hold check; the payout's posting (three), the payout
# and its history row; two audit rows; the event; the commit.
STATEMENTS_PER_MERCHANT = 22


def _pending(merchant):
    return merchant_account_get(merchant_id=merchant.public_id, kind=AccountKind.PENDING, currency="EUR")


def _entries_fetched(cursor) -> int:
    cursor.execute(
        "SELECT seq_tup_read + COALESCE(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables"
        " WHERE relname = 'accounts_entry'"
    )
    return cursor.fetchone()[0]


def _entries_read(statement: str, params: dict) -> int:
    """The rows of ``accounts_entry`` that ``statement`` reads (this transaction's table
    statistics before and after), executed and rolled back. A test's tables are small enough to
    be scanned whole whatever a plan could skip; with sequential scans off the plan reads
    through the indexes, as it does on a large table."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        before = _entries_fetched(cursor)
        cursor.execute(statement, params)
        read = _entries_fetched(cursor) - before
        transaction.set_rollback(True)
    return read


@pytest.mark.django_db
def test_a_second_days_run_does_not_read_the_first_days_settled_entries(merchant_factory, monkeypatch):
    merchant = merchant_factory()
    quiet = merchant_factory(name="Quiet")
    for amount in ("10.00", "11.00", "12.00", "13.00", "14.00"):
        pay(merchant, amount)
        pay(quiet, amount)
    settlement_run(date=tomorrow())
    pending = _pending(merchant)
    first_day = list(Entry.objects.filter(account=pending).values_list("id", flat=True))
    watermark = EntryWatermark.objects.get(account=pending).entry_id
    # Every entry before the watermark is settled (or is the settlement's own posting).
    assert watermark > max(
        SettlementLine.objects.filter(settlement__merchant=merchant).values_list("entry_id", flat=True)
    )
    assert set(first_day) - set(SettlementLine.objects.values_list("entry_id", flat=True)) == {
        e for e in first_day if e >= watermark
    }

    with shifted_clock(monkeypatch, days=1):
        pay(merchant, "15.00")
    day2 = tomorrow() + timedelta(days=1)
    period_end = settlement_period_end(day=day2, delay_days=1)
    batch = SettlementBatch.objects.create(date=day2)
    # From the watermark on: the first day's settlement posting and the second day's capture.
    after_mark = Entry.objects.filter(account=pending, id__gte=watermark).count()
    assert after_mark == 2 < len(first_day)
    # The quiet merchant has nothing new: from its watermark on, only its settlement posting.
    quiet_pending = _pending(quiet)
    quiet_mark = EntryWatermark.objects.get(account=quiet_pending).entry_id
    assert Entry.objects.filter(account=quiet_pending, id__gte=quiet_mark).count() == 1

    candidates = (SQL_DIR / "candidates.sql").read_text()
    read = _entries_read(
        candidates, {"batch": batch.pk, "date": day2, "midnight": period_end, "merchant": None}
    )
    # The merchant's entries from its watermark on, and the quiet merchant's settlement posting.
    assert read <= after_mark + 1

    settlement = batch.settlements.create(
        merchant=merchant, currency="EUR", status="completed", period_end=period_end, **_zeros()
    )
    claim = (SQL_DIR / "lines_claim.sql").read_text()
    params = {"settlement": settlement.pk, "account": pending.pk, "merchant": merchant.public_id}
    # The entries from the watermark on, and the probe of the highest id.
    assert _entries_read(claim, {**params, "period_end": period_end}) <= after_mark + 1


def _zeros() -> dict:
    """Every amount of a settlement, at zero (as a run creates it before its claim)."""
    amounts = [f.name for f in Settlement._meta.concrete_fields if isinstance(f, MoneyField)]
    return dict.fromkeys(amounts, Money(0, "EUR"))


@pytest.mark.django_db
def test_settling_one_merchant_costs_a_fixed_number_of_statements(merchant_factory):
    shops = [merchant_factory(name=f"Shop {n}") for n in range(2)]
    for shop in shops:
        pay(shop, "10.00")
    marks: list[int] = []
    with CaptureQueriesContext(connection) as queries:
        settlement_run(date=tomorrow(), on_progress=lambda done, total: marks.append(len(queries)))
    # The second merchant's statements: everything between the two progress calls.
    assert marks[1] - marks[0] <= STATEMENTS_PER_MERCHANT


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_posting_in_flight_at_the_claim_is_settled_not_left_behind_the_watermark(merchant_factory):
    merchant = merchant_factory()
    pay(merchant, "10.00")
    pending = _pending(merchant)
    clearing = platform_account_get(kind=AccountKind.CARD_CLEARING, currency="EUR")
    posted = threading.Event()
    commit = threading.Event()
    outcomes: dict[str, object] = {}

    def in_flight() -> None:
        """A posting to the pending account that commits only once the run waits for it."""
        try:
            with transaction.atomic():
                amount = Money("5.00", "EUR")
                outcomes["posting"] = ledger_post(
                    reference="late:1",
                    kind=TransactionKind.ADJUSTMENT,
                    lines=[PostingLine(pending.pk, amount), PostingLine(clearing.pk, -amount)],
                ).transaction
                posted.set()
                commit.wait(THREAD_TIMEOUT_SECONDS)
        finally:
            connections.close_all()

    def run() -> None:
        try:
            outcomes["run"] = settlement_run(date=tomorrow())
        except BaseException as exc:  # reported to the test
            outcomes["run"] = exc
        finally:
            connections.close_all()

    poster = threading.Thread(target=in_flight)
    poster.start()
    assert posted.wait(THREAD_TIMEOUT_SECONDS)
    runner = threading.Thread(target=run)
    runner.start()
    waiting = _wait_for_a_lock_wait()
    commit.set()
    poster.join(THREAD_TIMEOUT_SECONDS)
    runner.join(THREAD_TIMEOUT_SECONDS)

    assert waiting, "the run did not wait for the posting in flight on the pending account"
    assert outcomes["run"].settled == 1, outcomes["run"]
    late = Entry.objects.get(transaction=outcomes["posting"], account=pending)
    assert SettlementLine.objects.filter(entry=late).exists()
    watermark = EntryWatermark.objects.get(account=pending).entry_id
    behind = Entry.objects.filter(account=pending, id__lt=watermark).exclude(transaction__kind="settlement")
    assert not behind.exclude(id__in=SettlementLine.objects.values("entry_id")).exists()


def _wait_for_a_lock_wait() -> bool:
    """Whether another session of this database comes to wait on a lock (polled)."""
    deadline = time.monotonic() + THREAD_TIMEOUT_SECONDS
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.05)
    return False
