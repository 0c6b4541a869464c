"""Real concurrency on real PostgreSQL: threads, each with its own connection."""

import random
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db import OperationalError, connection, connections, transaction
from moneyed import Money

from accounts.errors import LedgerBusyError, OverdraftFundingError
from accounts.models import AccountKind, Entry, LedgerAccount, OwnerType
from accounts.selectors import account_list
from accounts.services import (
    PostingLine,
    account_freeze,
    account_open,
    ledger_atomic,
    ledger_post,
    ledger_verify,
    platform_account_get,
    transfer_create,
)
from paysys.errors import AccountFrozenError, InsufficientFundsError
from tests.accounts.conftest import MERCHANT

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
]

THREADS = 8
BANK_ACCOUNTS = 50
# Overdraft wallets may receive but never fund another wallet: a few, or they drain the bank.
BANK_OVERDRAFT_ACCOUNTS = 2
BANK_TRANSFERS_PER_THREAD = 260  # 8 x 260 = 2,080 transfers
BANK_OPENING_BALANCE = Decimal("100.00")


def _wallets(n: int, *, overdraft: int = 0, funded: Decimal = Decimal(0), shards: int | None = None):
    funding = platform_account_get(kind=AccountKind.WALLET_FUNDING, currency="EUR")
    wallets = []
    for i in range(n):
        wallet = account_open(
            owner_type=OwnerType.CUSTOMER,
            merchant_id=MERCHANT,
            kind=AccountKind.WALLET,
            currency="EUR",
            allow_negative=i < overdraft,
            balance_shards=shards,
        )
        if funded:
            ledger_post(
                reference=f"open:{wallet.public_id}",
                kind="funding",
                lines=[
                    PostingLine(funding.pk, Money(-funded, "EUR")),
                    PostingLine(wallet.pk, Money(funded, "EUR")),
                ],
            )
        wallets.append(wallet)
    return wallets


def _run_threads(target, n: int = THREADS, timeout: float = 120) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def run(index: int) -> None:
        try:
            start.wait()
            target(index)
        except BaseException as exc:  # reported to the test, which fails on it
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return errors


@pytest.mark.timeout(180)
def test_bank_random_transfers_conserve_money_and_keep_every_invariant():
    wallets = _wallets(BANK_ACCOUNTS, overdraft=BANK_OVERDRAFT_ACCOUNTS, funded=BANK_OPENING_BALANCE)
    ids = [w.public_id for w in wallets]
    overdraft_ids = {w.public_id for w in wallets if w.allow_negative}
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def worker(index: int) -> None:
        rng = random.Random(index)
        local: Counter = Counter()
        for _ in range(BANK_TRANSFERS_PER_THREAD):
            source, destination = rng.sample(ids, 2)
            amount = Money(Decimal(rng.randint(1, 6000)) / 100, "EUR")
            try:
                transfer_create(
                    merchant_id=MERCHANT, from_account_id=source, to_account_id=destination, amount=amount
                )
                local["posted"] += 1
            except InsufficientFundsError:
                local["insufficient"] += 1
            except OverdraftFundingError:
                # An overdraft wallet never funds another wallet (accounts.models.overdraft_is_credit).
                assert source in overdraft_ids
                local["overdraft_refused"] += 1
        with lock:
            outcomes.update(local)

    started = time.monotonic()
    errors = _run_threads(worker)
    elapsed = time.monotonic() - started

    assert errors == [], errors[:3]  # no deadlock, busy or other error reached a caller
    assert outcomes["posted"] + outcomes["insufficient"] + outcomes["overdraft_refused"] == (
        THREADS * BANK_TRANSFERS_PER_THREAD
    )
    assert outcomes["overdraft_refused"] > 0
    assert outcomes["posted"] > THREADS * BANK_TRANSFERS_PER_THREAD // 2
    balances = {a.public_id: a for a in account_list(currency="eur")}
    # Money is conserved exactly: the wallets hold what was funded, and every balance of the
    # currency (the funding account's included) sums to zero.
    assert sum(balances[i].posted for i in ids) == BANK_OPENING_BALANCE * BANK_ACCOUNTS
    assert sum(a.posted for a in balances.values()) == 0
    for wallet in wallets:
        account = balances[wallet.public_id]
        assert wallet.allow_negative or account.posted >= 0
        entries_sum = sum(Entry.objects.filter(account_id=wallet.pk).values_list("amount", flat=True))
        assert account.posted == entries_sum
    assert ledger_verify().ok
    assert elapsed < 90


@pytest.mark.timeout(120)
def test_transfers_both_ways_between_one_pair_never_deadlock():
    a, b = _wallets(2, funded=Decimal("10000"))
    per_thread = 40

    def worker(index: int) -> None:
        source, destination = (a, b) if index % 2 else (b, a)
        for _ in range(per_thread):
            transfer_create(
                merchant_id=MERCHANT,
                from_account_id=source.public_id,
                to_account_id=destination.public_id,
                amount=Money(1, "EUR"),
            )

    assert _run_threads(worker) == []
    balances = {x.pk: x.posted for x in account_list(currency="eur")}
    # Half the threads each way: the pair ends where it started.
    assert balances[a.pk] == balances[b.pk] == Decimal("10000")
    assert ledger_verify().ok


@pytest.mark.timeout(120)
def test_hot_account_credits_spread_over_shards_and_sum_exactly():
    payers = _wallets(THREADS, funded=Decimal("1000"))
    (hot,) = _wallets(1)
    per_thread = 60

    def worker(index: int) -> None:
        for _ in range(per_thread):
            transfer_create(
                merchant_id=MERCHANT,
                from_account_id=payers[index].public_id,
                to_account_id=hot.public_id,
                amount=Money("0.01", "EUR"),
            )

    assert _run_threads(worker) == []
    balances = {x.pk: x for x in account_list(currency="eur")}
    assert balances[hot.pk].posted == Decimal("0.01") * THREADS * per_thread
    used_shards = hot.shards.filter(amount__gt=0).count()
    assert used_shards > 1
    assert ledger_verify().ok


@pytest.mark.timeout(120)
def test_an_overdraft_clearing_account_debited_by_every_posting_is_not_a_hot_lock():
    clearing = platform_account_get(kind=AccountKind.CARD_CLEARING, currency="EUR")
    receivers = _wallets(THREADS)
    per_thread = 40

    def worker(index: int) -> None:
        for n in range(per_thread):
            ledger_post(
                reference=f"capture:{index}:{n}",
                kind="capture",
                lines=[
                    PostingLine(clearing.pk, Money("-1.00", "EUR")),
                    PostingLine(receivers[index].pk, Money("1.00", "EUR")),
                ],
            )

    assert _run_threads(worker) == []
    balances = {x.pk: x.posted for x in account_list(currency="eur")}
    assert balances[clearing.pk] == -Decimal(THREADS * per_thread)
    assert all(balances[r.pk] == per_thread for r in receivers)
    # The debits went to the clearing account's shards, never to its locked base.
    assert clearing.shards.filter(amount__lt=0).count() > 1
    assert LedgerAccount.objects.get(pk=clearing.pk).posted_base == 0
    assert ledger_verify().ok


@pytest.mark.timeout(60)
def test_a_credit_in_flight_blocks_no_other_credit_to_a_sharded_account():
    payer_a, payer_b = _wallets(2, funded=Decimal("100"))
    (hot,) = _wallets(1)
    (one_shard,) = _wallets(1, shards=1)
    in_flight, done = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def credit(payer, target, reference):
        ledger_post(
            reference=reference,
            kind="transfer",
            lines=[PostingLine(payer.pk, Money(-1, "EUR")), PostingLine(target.pk, Money(1, "EUR"))],
        )

    def worker(index: int) -> None:
        if index == 0:
            # Credits both accounts and keeps its transaction (and its shard locks) open.
            with transaction.atomic():
                credit(payer_a, hot, "held-hot")
                credit(payer_a, one_shard, "held-one")
                in_flight.set()
                done.wait(20)
            return
        in_flight.wait(20)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '500ms'")
        # A random one of 16 shards: retried in case it picked the one held (1 in 16 each time).
        for attempt in range(3):
            try:
                credit(payer_b, hot, f"free-hot-{attempt}")
                outcome["hot"] = "posted"
                break
            except OperationalError as exc:
                outcome["hot"] = exc
        try:
            credit(payer_b, one_shard, "blocked-one")
            outcome["one_shard"] = "posted"
        except OperationalError as exc:
            outcome["one_shard"] = getattr(exc.__cause__, "sqlstate", None)
        done.set()

    assert _run_threads(worker, n=2) == []
    assert outcome["hot"] == "posted"
    assert outcome["one_shard"] == "55P03"  # lock_not_available: it queued behind the open credit
    assert ledger_verify().ok


@pytest.mark.timeout(120)
def test_no_credit_lands_on_an_account_after_its_freeze_commits():
    payers = _wallets(4, funded=Decimal("1000"))
    (target,) = _wallets(1)
    frozen = threading.Event()
    refused: Counter = Counter()

    def worker(index: int) -> None:
        if index == 4:
            # Freeze while credits are flowing: once a few have landed.
            while Entry.objects.filter(account_id=target.pk).count() < 10:
                time.sleep(0.01)
            account_freeze(account_id=target.public_id, reason="test")
            frozen.set()
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                transfer_create(
                    merchant_id=MERCHANT,
                    from_account_id=payers[index].public_id,
                    to_account_id=target.public_id,
                    amount=Money("0.01", "EUR"),
                )
            except AccountFrozenError:
                refused[index] += 1
                if frozen.is_set():
                    return

    counted_at_freeze: list[int] = []

    def watcher() -> None:
        frozen.wait(10)
        counted_at_freeze.append(Entry.objects.filter(account_id=target.pk).count())
        connections.close_all()

    watch = threading.Thread(target=watcher)
    watch.start()
    assert _run_threads(worker, n=5) == []
    watch.join(10)
    assert sum(refused.values()) >= 4
    assert counted_at_freeze and counted_at_freeze[0] > 0
    # Everything credited was committed before the freeze: nothing arrived afterwards.
    assert Entry.objects.filter(account_id=target.pk).count() == counted_at_freeze[0]
    assert ledger_verify().ok


@pytest.mark.timeout(60)
def test_a_deadlocked_transaction_is_retried_whole_and_both_callers_succeed():
    a, b = _wallets(2)
    meet = threading.Barrier(2)
    attempts: Counter = Counter()

    @ledger_atomic
    def lock_both(first, second, index):
        # Opposite orders on purpose: PostgreSQL aborts one with 40P01 and the wrapper retries it.
        attempts[index] += 1
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM accounts_ledgeraccount WHERE id = %s FOR UPDATE", [first.pk])
            if attempts[index] == 1:
                meet.wait(5)
            cursor.execute("SELECT 1 FROM accounts_ledgeraccount WHERE id = %s FOR UPDATE", [second.pk])

    def worker(index: int) -> None:
        lock_both(*((a, b) if index == 0 else (b, a)), index)

    assert _run_threads(worker, n=2) == []
    # One of the two was chosen as the deadlock's victim and ran again; on a loaded machine its
    # retry may meet the other once more, so the count is a floor, not an exact figure.
    assert max(attempts.values()) >= 2


@pytest.mark.timeout(60)
def test_retries_are_bounded_and_end_in_ledger_busy(settings):
    settings.LEDGER_POST_MAX_RETRIES = 2
    calls = Counter()

    @ledger_atomic
    def always_conflicts():
        calls["n"] += 1
        with connection.cursor() as cursor:
            # A real serialization failure raised by the database itself.
            cursor.execute(
                "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$"
            )

    with pytest.raises(LedgerBusyError):
        always_conflicts()
    assert calls["n"] == 3
