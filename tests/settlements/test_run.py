"""settlement_run: the hand-worked days in EUR and JPY, reruns, carried-forward debt, reserves."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from moneyed import Money

from accounts.models import AccountKind, Entry, JournalTransaction
from accounts.selectors import account_balance_get
from accounts.services import platform_account_get
from merchants.services import merchant_update
from payments.services import refund_create
from settlements.models import LineType, Payout, Settlement, SettlementBatch, SettlementLine
from settlements.services import settlement_run
from tests.settlements.conftest import AVAILABLE, PENDING, RESERVE, balance, pay, shifted_clock, tomorrow

pytestmark = pytest.mark.django_db

EUR = "EUR"


def _money(value: str, currency: str = EUR) -> Money:
    return Money(Decimal(value), currency)


def _settlement(merchant, currency: str = EUR, date=None) -> Settlement:
    return Settlement.objects.get(merchant=merchant, currency=currency, batch__date=date or tomorrow())


def _in_transit(currency: str = EUR) -> Decimal:
    account = platform_account_get(kind=AccountKind.PAYOUTS_IN_TRANSIT, currency=currency)
    return account_balance_get(account_id=account.pk).posted.amount


def test_the_hand_worked_eur_day_settles_to_the_written_out_totals(eur_day):
    merchant, connected = eur_day["merchant"], eur_day["connected"]
    result = settlement_run(date=tomorrow())

    assert (result.settled, result.carried_forward, result.failed) == (2, 0, 0)
    s = _settlement(merchant)
    assert s.status == Settlement.Status.COMPLETED
    assert s.gross == _money("210.00")  # 100 + 50 + 30 + (40 - 10 split)
    assert s.fees == _money("7.58")  # 3.20 + 1.75 + 1.17 + 1.46
    assert s.refunds == _money("20.00")
    assert s.disputes == _money("45.00")  # 30.00 disputed + 15.00 dispute fee
    assert s.adjustments == _money("0")
    assert s.reserve_withheld == _money("21.00")  # 10 % of 210.00
    assert s.reserve_released == _money("0")
    assert s.net == _money("116.42")  # 210 - 7.58 - 20 - 45 - 21
    assert s.count == 6
    assert s.reserve_release_on == tomorrow() + timedelta(days=7)
    lines = {(line.type, line.source): line for line in s.lines.all()}
    p1, _p2, _p3, p4 = eur_day["payments"]
    assert lines[(LineType.PAYMENT, p1.public_id)].amount == _money("96.80")
    assert lines[(LineType.PAYMENT, p1.public_id)].fee == _money("3.20")
    assert lines[(LineType.PAYMENT, p1.public_id)].gross == _money("100.00")
    assert lines[(LineType.PAYMENT, p4.public_id)].gross == _money("30.00")
    assert lines[(LineType.REFUND, eur_day["refund"].public_id)].amount == _money("-20.00")
    assert lines[(LineType.DISPUTE, eur_day["dispute"].public_id)].amount == _money("-45.00")
    assert lines[(LineType.RESERVE_WITHHELD, s.public_id)].amount == _money("-21.00")
    assert len(lines) == 7

    c = _settlement(connected)
    assert (c.gross, c.fees, c.net, c.count) == (_money("10.00"), _money("0"), _money("10.00"), 1)
    assert c.lines.get().type == LineType.TRANSFER

    # The ledger: pending emptied into reserve and (through available) the payout.
    assert balance(merchant, PENDING) == 0
    assert balance(merchant, RESERVE) == Decimal("21.00")
    assert balance(merchant, AVAILABLE) == 0
    assert _in_transit() == Decimal("126.42")
    payout = Payout.objects.get(settlement=s)
    assert (payout.amount, payout.status) == (_money("116.42"), Payout.Status.PENDING)
    assert s.transaction.reference == f"settlement:{s.public_id}"
    # Every settled line names the entry and the journal transaction it came from.
    for line in s.lines.exclude(type__startswith="reserve"):
        assert line.entry.transaction_id == line.transaction_id
        assert line.entry.amount == line.amount.amount


def test_the_hand_worked_jpy_day_settles_in_whole_yen(merchant_factory):
    merchant = merchant_factory(currency="JPY", bps=360, fixed=0, name="Tokyo")
    pay(merchant, "10000", "JPY")  # fee 360
    second = pay(merchant, "2500", "JPY")  # fee 90
    refund_create(payment=second, amount=Money(1000, "JPY"))

    settlement_run(date=tomorrow())

    s = _settlement(merchant, "JPY")
    assert (s.gross, s.fees, s.refunds, s.net, s.count) == (
        Money(12500, "JPY"),
        Money(450, "JPY"),
        Money(1000, "JPY"),
        Money(11050, "JPY"),
        3,
    )
    assert Payout.objects.get(settlement=s).amount == Money(11050, "JPY")
    assert _in_transit("JPY") == Decimal(11050)


def test_run_twice_changes_nothing(eur_day):
    settlement_run(date=tomorrow())

    def snapshot():
        return (
            list(Settlement.objects.order_by("pk").values_list("pk", "net", "status", "transaction_id")),
            SettlementLine.objects.count(),
            Payout.objects.count(),
            JournalTransaction.objects.count(),
            Entry.objects.count(),
            balance(eur_day["merchant"], RESERVE),
        )

    before = snapshot()
    again = settlement_run(date=tomorrow())
    assert (again.settled, again.carried_forward, again.failed) == (0, 0, 0)
    assert snapshot() == before
    batch = SettlementBatch.objects.get(date=tomorrow())
    assert (batch.runs, batch.status, batch.settlements_count) == (2, "completed", 2)


def test_entries_after_the_cut_off_wait_for_the_next_date(merchant_factory):
    merchant = merchant_factory()
    pay(merchant, "10.00")
    # Today's run settles what was captured before today: nothing yet.
    assert settlement_run(date=tomorrow() - timedelta(days=1)).settled == 0
    # A merchant settling T+2 is not due tomorrow either.
    late = merchant_factory(name="Late")
    merchant_update(merchant_id=late.public_id, changes={"settlement_delay_days": 2})
    pay(late, "10.00")
    settlement_run(date=tomorrow())
    assert Settlement.objects.filter(merchant=merchant).count() == 1
    assert not Settlement.objects.filter(merchant=late).exists()
    settlement_run(date=tomorrow() + timedelta(days=1))
    assert Settlement.objects.get(merchant=late).net == _money("9.41")  # 10.00 - 0.59


def test_a_negative_net_is_carried_forward_and_netted_later(merchant_factory, monkeypatch):
    merchant = merchant_factory()
    first = pay(merchant, "100.00")  # fee 3.20
    settlement_run(date=tomorrow())
    assert balance(merchant, PENDING) == 0
    with shifted_clock(monkeypatch, days=2):
        pay(merchant, "60.00")  # fee 2.04: pending +57.96, two days from now
    with shifted_clock(monkeypatch, days=1):
        refund_create(payment=first, amount=Money("40.00", EUR))  # tomorrow, out of that pending

    day2 = tomorrow() + timedelta(days=1)
    result = settlement_run(date=day2)
    carried = _settlement(merchant, date=day2)
    assert result.carried_forward == 1
    assert carried.status == Settlement.Status.CARRIED_FORWARD
    assert (carried.refunds, carried.net, carried.count) == (_money("40.00"), _money("-40.00"), 1)
    assert carried.transaction is None and not carried.lines.exists()
    assert not Payout.objects.filter(settlement=carried).exists()
    assert balance(merchant, PENDING) == Decimal("17.96")

    day3 = day2 + timedelta(days=1)
    settlement_run(date=day3)
    later = _settlement(merchant, date=day3)
    assert (later.gross, later.fees, later.refunds, later.net, later.count) == (
        _money("60.00"),
        _money("2.04"),
        _money("40.00"),
        _money("17.96"),
        2,
    )
    assert balance(merchant, PENDING) == 0


def test_a_withheld_reserve_is_released_when_due(eur_day):
    merchant = eur_day["merchant"]
    settlement_run(date=tomorrow())
    withheld = _settlement(merchant)
    # Not yet due the day before.
    settlement_run(date=tomorrow() + timedelta(days=6))
    assert not Settlement.objects.filter(
        merchant=merchant, batch__date=tomorrow() + timedelta(days=6)
    ).exists()

    due = tomorrow() + timedelta(days=7)
    settlement_run(date=due)
    release = _settlement(merchant, date=due)
    assert (release.reserve_released, release.net, release.count) == (_money("21.00"), _money("21.00"), 0)
    assert release.lines.get().type == LineType.RESERVE_RELEASED
    withheld.refresh_from_db()
    assert withheld.reserve_released_by == release
    assert balance(merchant, RESERVE) == 0
    assert Payout.objects.get(settlement=release).amount == _money("21.00")
    # Released once.
    settlement_run(date=due + timedelta(days=1))
    assert not Settlement.objects.filter(merchant=merchant, batch__date=due + timedelta(days=1)).exists()


def test_one_merchant_only(eur_day):
    settlement_run(date=tomorrow(), merchant=eur_day["connected"].public_id)
    assert list(Settlement.objects.values_list("merchant", flat=True)) == [eur_day["connected"].pk]


def test_the_command_shows_a_summary_and_refuses_bad_input(eur_day, capsys):
    call_command("run_settlement", "--date", tomorrow().isoformat(), "--no-progress")
    out = capsys.readouterr().out
    assert f"batch {tomorrow()}: 2 settled (7 lines), 0 carried forward, 0 failed" in out
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("run_settlement", "--date", "tomorrow")
    with pytest.raises(CommandError, match="No such merchant"):
        call_command("run_settlement", "--merchant", "mer_nope", "--no-progress")


def test_the_nightly_task_settles_the_date_it_is_given(eur_day):
    from settlements.tasks import settlement_run_task

    outcome = settlement_run_task.apply(args=[tomorrow().isoformat()]).get()
    assert outcome == {"date": tomorrow().isoformat(), "settled": 2, "carried_forward": 0, "failed": 0}


def test_a_merchants_settlement_costs_the_same_queries_for_one_payment_or_many(merchant_factory):
    """Set-based: the lines are claimed by one statement, whatever their number."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    shops = [merchant_factory(name=f"Shop {n}") for n in range(3)]
    for shop, payments in zip(shops, (1, 1, 6), strict=True):
        for _ in range(payments):
            pay(shop, "10.00")
    settlement_run(date=tomorrow(), merchant=shops[0])  # the batch and the platform accounts exist now
    counts = []
    for shop in shops[1:]:
        with CaptureQueriesContext(connection) as queries:
            settlement_run(date=tomorrow(), merchant=shop)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert _settlement(shops[2]).count == 6
