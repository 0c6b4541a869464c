"""A run survives a failing merchant and a crash, and two runs at once settle once."""

import threading

import pytest
from django.db import connections

from settlements.errors import SettlementRunInProgressError
from settlements.models import Payout, Settlement, SettlementBatch, SettlementLine
from settlements.services import run as run_module
from settlements.services import settlement_run
from tests.settlements.conftest import pay, tomorrow

MERCHANTS = 4
THREAD_TIMEOUT_SECONDS = 60


@pytest.fixture
def shops(merchant_factory):
    shops = [merchant_factory(name=f"Shop {n}") for n in range(MERCHANTS)]
    for shop in shops:
        pay(shop, "10.00")
    return shops


def _fail_for(monkeypatch, victim, exc: BaseException):
    real = run_module.payout_create

    def payout_create(*, settlement, **accounts):
        if settlement.merchant_id == victim.pk:
            raise exc
        return real(settlement=settlement, **accounts)

    monkeypatch.setattr(run_module, "payout_create", payout_create)


def _assert_settled_once(shops):
    for shop in shops:
        assert Settlement.objects.filter(merchant=shop).count() == 1
        assert Payout.objects.filter(merchant=shop).count() == 1
    assert SettlementLine.objects.count() == len(shops)


@pytest.mark.django_db
def test_a_failing_merchant_is_recorded_and_the_others_go_on_then_a_rerun_completes(shops, monkeypatch):
    victim = shops[2]
    _fail_for(monkeypatch, victim, RuntimeError("bank file rejected"))
    result = settlement_run(date=tomorrow())
    assert (result.settled, result.failed) == (MERCHANTS - 1, 1)
    batch = SettlementBatch.objects.get(date=tomorrow())
    assert batch.status == SettlementBatch.Status.COMPLETED_WITH_FAILURES
    [failure] = batch.failures
    assert failure["merchant"] == victim.public_id
    assert (failure["error"], failure["message"]) == ("RuntimeError", "bank file rejected")
    # The failed merchant's transaction rolled back whole: no settlement, no line, no posting.
    assert not Settlement.objects.filter(merchant=victim).exists()

    monkeypatch.undo()
    again = settlement_run(date=tomorrow())
    assert (again.settled, again.failed) == (1, 0)
    batch.refresh_from_db()
    assert (batch.status, batch.failures, batch.settlements_count) == ("completed", [], MERCHANTS)
    _assert_settled_once(shops)


@pytest.mark.django_db
def test_a_crash_halfway_resumes_where_it_stopped(shops, monkeypatch):
    # SystemExit is not a merchant's failure: it ends the run, as a killed process would.
    _fail_for(monkeypatch, shops[2], SystemExit(1))
    with pytest.raises(SystemExit):
        settlement_run(date=tomorrow())
    batch = SettlementBatch.objects.get(date=tomorrow())
    assert batch.status == SettlementBatch.Status.RUNNING
    assert Settlement.objects.count() == 2

    monkeypatch.undo()
    result = settlement_run(date=tomorrow())
    assert result.settled == 2
    assert SettlementBatch.objects.get(date=tomorrow()).status == "completed"
    _assert_settled_once(shops)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_two_runs_at_once_settle_once(shops):
    """Two runs on two database connections: the second finds the first holding the run lock."""
    first_is_running = threading.Event()
    second_is_done = threading.Event()
    outcomes: dict[str, object] = {}

    def first_progress(done: int, total: int) -> None:
        first_is_running.set()
        second_is_done.wait(THREAD_TIMEOUT_SECONDS)

    def run(name: str, **kwargs) -> None:
        try:
            outcomes[name] = settlement_run(date=tomorrow(), **kwargs)
        except BaseException as exc:  # reported to the test
            outcomes[name] = exc
        finally:
            connections.close_all()

    first = threading.Thread(target=run, args=("first",), kwargs={"on_progress": first_progress})
    first.start()
    assert first_is_running.wait(THREAD_TIMEOUT_SECONDS)
    second = threading.Thread(target=run, args=("second",))
    second.start()
    second.join(THREAD_TIMEOUT_SECONDS)
    second_is_done.set()
    first.join(THREAD_TIMEOUT_SECONDS)

    assert isinstance(outcomes["second"], SettlementRunInProgressError), outcomes["second"]
    assert outcomes["first"].settled == MERCHANTS
    _assert_settled_once(shops)
    # The lock went with the first run: a later run may start (and finds nothing to do).
    assert settlement_run(date=tomorrow()).settled == 0
