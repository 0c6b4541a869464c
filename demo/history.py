"""A month (``days``) of the demo merchant's business, written through the services.

Each day runs under the demo clock (``demo.clock``): payments from morning to night (approved
and captured, some captured by hand, declined with the simulator's test cards, challenged,
held for review), refunds and disputes of earlier payments, then the demo endpoints' due
webhook deliveries; at 02:00 the next day the nightly settlement (``settlement_run`` for that
date) and the bank's payouts (``payouts_update``). The payouts of one day fail (the merchant's
simulated bank account is closed that day) and the last day's are held. Every choice comes from one
``random.Random`` seeded with ``seed`` and the first day, so a history is the same each time.

Idempotent: the merchant's ``metadata[HISTORY_MARKER]`` names the last day written (set at the
end of each day through ``merchant_update``); a day on or before it is never written again, so a
second run adds nothing and a run on a later day adds only the days since.
"""

import functools
import heapq
import itertools
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone
from djmoney.money import Money

from demo.clock import DemoClock, demo_clock
from demo.webhooks import (
    DemoEndpoints,
    DemoReceivers,
    demo_deliveries_run,
    demo_endpoints_ensure,
    erp_down_from,
)
from merchants.models import Merchant
from merchants.services import DEMO_ADMIN_USERNAME, merchant_update
from payments.models import Dispute, Payment
from payments.services import (
    dispute_close,
    dispute_evidence_submit,
    dispute_open,
    payment_capture,
    payment_confirm,
    payment_create,
    payment_review_approve,
    payment_review_decline,
    refund_create,
)
from payments.states import Status
from paysys.errors import CardError, InsufficientFundsError
from settlements.bank import OUTCOME_SETTING
from settlements.services import payout_hold, payouts_update, settlement_run

HISTORY_MARKER = "demo_history_through"
DEFAULT_SEED = 20
PAYMENTS_PER_DAY = 12
USD_SHARE = 0.15
CARD_DECLINES = (
    "4000000000000002",
    "4000000000009995",
    "4000000000009987",
    "4000000000000069",
    "4000000000000127",
)
CARD_CHALLENGE = "4000000000003220"
CARD_ELEVATED_RISK = "4100000000000019"
DISPUTE_REASONS = ("fraudulent", "product_not_received", "duplicate", "general")
# A payment's kind and its share of a day's payments; the rest are approved and captured. Each
# day has one of each kind at least, so even a short history shows every outcome.
KIND_SHARES = (("declined", 0.08), ("challenged", 0.03), ("review", 0.015), ("manual", 0.10))
REFUND_RATE = 0.05
DISPUTE_EVERY = 3
DISPUTE_OPENS_AFTER = timedelta(days=2)
DISPUTE_DECIDED_AFTER = timedelta(days=5)
FAILED_PAYOUT_DAYS_AGO = 10
FAILED_PAYOUT_CODE = "account_closed"  # one of settlements.bank.FAILURE_CODES
HOLD_REASON = "Bank details changed: confirm them with the merchant before paying out."
OPEN_UNTIL_DAYS_AGO = 2  # payments held for review since then are left in the queue


@dataclass
class HistoryResult:
    days: list[date] = field(default_factory=list)
    already_through: date | None = None
    webhooks: bool = True
    counts: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class _Step:
    at: datetime
    run: Callable[[], None]


def _card(number: str, rng: random.Random) -> dict:
    return {
        "number": number,
        "exp_month": rng.randint(1, 12),
        "exp_year": timezone.now().year + 3,
        "cvc": "123",
    }


def _approved_number(rng: random.Random) -> str:
    """A card number the simulator approves: Visa-like, Luhn-valid, a different card each time."""
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if i % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def _amount(rng: random.Random) -> Money:
    currency = "USD" if rng.random() < USD_SHARE else "EUR"
    value = min(max(math.exp(rng.gauss(3.5, 0.9)), 1.0), 2500.0)
    return Money(Decimal(str(round(value, 2))), currency)


def _at(day: date, seconds: float) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC) + timedelta(seconds=seconds)


class _History:
    def __init__(self, *, merchant: Merchant, today: date, rng: random.Random, result: HistoryResult) -> None:
        self.merchant = merchant
        self.today = today
        self.rng = rng
        self.result = result
        self.later: dict[date, list[_Step]] = defaultdict(list)
        self.day_index = 0
        self.day_captured = 0
        self.disputes_opened = 0
        # The day being written: its steps by time (a step may add one later the same day).
        self.current: date | None = None
        self.queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def _later(self, day: date, seconds: float, run: Callable[[], None]) -> None:
        if day >= self.today:
            return
        at = _at(day, seconds)
        if day == self.current:
            # Not before the step that asks for it; never past the day's end.
            at = min(max(at, timezone.now() + timedelta(minutes=10)), _at(day, 23.8 * 3600))
            heapq.heappush(self.queue, (at, next(self._order), run))
        else:
            self.later[day].append(_Step(at=at, run=run))

    def run_day(self, day: date, clock: DemoClock, payments: list[_Step]) -> None:
        self.current = day
        self.day_captured = 0
        self.queue = [(step.at, next(self._order), step.run) for step in payments + self.later.pop(day, [])]
        heapq.heapify(self.queue)
        while self.queue:
            at, _, run = heapq.heappop(self.queue)
            clock.set(at)
            run()
        self.current = None

    def _count(self, name: str) -> None:
        self.result.counts[name] += 1

    # --- a payment and what follows it ------------------------------------------------------
    def payment(self, day: date, kind: str) -> None:
        rng = self.rng
        amount = _amount(rng)
        number = {
            "declined": lambda: rng.choice(CARD_DECLINES),
            "challenged": lambda: CARD_CHALLENGE,
            "review": lambda: CARD_ELEVATED_RISK,
        }.get(kind, lambda: _approved_number(rng))()
        manual = kind == "manual"
        try:
            payment = payment_create(
                merchant=self.merchant,
                amount=amount,
                card=_card(number, rng),
                capture_method=Payment.CaptureMethod.MANUAL if manual else Payment.CaptureMethod.AUTOMATIC,
                description=f"Order #{rng.randint(10000, 99999)}",
                receipt_email=f"customer{rng.randint(1, 5000)}@example.com",
            )
        except CardError:
            self._count("payments declined")
            return
        self._count("payments")
        if payment.status == Status.REQUIRES_ACTION:
            try:
                payment = payment_confirm(payment=payment, challenge_passed=rng.random() < 0.8)
            except CardError:
                self._count("challenges failed")
                return
        if payment.status == Status.REQUIRES_REVIEW:
            self._review_later(day, payment)
            return
        if manual and payment.status == Status.REQUIRES_CAPTURE:
            partial = rng.random() < 0.2
            captured = (
                Money((amount.amount * Decimal("0.8")).quantize(Decimal("0.01")), amount.currency)
                if partial
                else None
            )
            payment = payment_capture(payment=payment, amount=captured)
        if payment.status == Status.SUCCEEDED:
            self._aftermath_plan(day, payment)

    def _review_later(self, day: date, payment: Payment) -> None:
        if (self.today - day).days <= OPEN_UNTIL_DAYS_AGO:
            return  # still in the review queue
        approve = self.rng.random() < 0.6

        def decide() -> None:
            decide_ = payment_review_approve if approve else payment_review_decline
            decide_(payment_id=payment.public_id, operator_id=DEMO_ADMIN_USERNAME)
            self._count("reviews approved" if approve else "reviews declined")

        self._later(day, 23 * 3600 + self.rng.uniform(0, 1800), decide)

    def _aftermath_plan(self, day: date, payment: Payment) -> None:
        """A day's first captured payment is refunded; on every ``DISPUTE_EVERY``-th day the second
        is disputed; the others are refunded at ``REFUND_RATE``."""
        rng = self.rng
        self.day_captured += 1
        disputed = self.day_captured == 2 and self.day_index % DISPUTE_EVERY == 0
        if disputed:
            opened = day + DISPUTE_OPENS_AFTER
            self._later(opened, rng.uniform(8 * 3600, 22 * 3600), lambda: self._dispute(payment, opened))
        elif self.day_captured == 1 or rng.random() < REFUND_RATE:
            partial = rng.random() < 0.3
            self._later(
                day + timedelta(days=rng.randint(0, 1)),
                rng.uniform(8 * 3600, 22 * 3600),
                lambda: self._refund(payment.pk, partial),
            )

    def _refund(self, payment_pk: int, partial: bool) -> None:
        payment = Payment.objects.get(pk=payment_pk)
        amount = None
        if partial:
            amount = Money((payment.amount_captured.amount / 2).quantize(Decimal("0.01")), payment.currency)
        try:
            refund_create(payment=payment, amount=amount, reason="requested_by_customer")
        except InsufficientFundsError:
            # Paid out already and too little captured since (the refund rule): refused, as it
            # would be for the merchant.
            self._count("refunds refused")
            return
        self._count("refunds")

    def _dispute(self, payment: Payment, opened: date) -> None:
        dispute = dispute_open(
            payment_id=payment.public_id, reason=self.rng.choice(DISPUTE_REASONS), by_network=True
        )
        self._count("disputes opened")
        won = self.disputes_opened % 2 == 0
        self.disputes_opened += 1

        def close() -> None:
            if won:
                locked = Dispute.objects.get(pk=dispute.pk)
                dispute_evidence_submit(
                    dispute=locked, text="Delivery confirmation and signed receipt.", submit=True
                )
            dispute_close(dispute_id=dispute.public_id, outcome="won" if won else "lost")
            self._count("disputes won" if won else "disputes lost")

        # Closed DISPUTE_DECIDED_AFTER later; one opened since is still open (needs a response).
        self._later(opened + DISPUTE_DECIDED_AFTER, self.rng.uniform(9 * 3600, 18 * 3600), close)

    # --- the night after a day --------------------------------------------------------------
    def settle(self, settlement_day: date) -> None:
        """The nightly settlement of ``settlement_day`` and the bank's payouts of that day."""
        failing = (self.today - settlement_day).days == FAILED_PAYOUT_DAYS_AGO
        if settlement_day == self.today:
            payout_hold(merchant_id=self.merchant.public_id, reason=HOLD_REASON)
        if not failing:
            settlement_run(date=settlement_day, merchant=self.merchant)
            payouts_update(today=settlement_day)
            return
        self._payout_outcome(FAILED_PAYOUT_CODE)  # the bank will refuse this day's payouts
        try:
            settlement_run(date=settlement_day, merchant=self.merchant)
            payouts_update(today=settlement_day)
        finally:
            self._payout_outcome(None)

    def _payout_outcome(self, outcome: str | None) -> None:
        metadata = {k: v for k, v in self.merchant.metadata.items() if k != OUTCOME_SETTING}
        if outcome is not None:
            metadata[OUTCOME_SETTING] = outcome
        self.merchant = merchant_update(merchant_id=self.merchant.public_id, changes={"metadata": metadata})

    def mark(self, day: date) -> None:
        metadata = {**self.merchant.metadata, HISTORY_MARKER: day.isoformat()}
        self.merchant = merchant_update(merchant_id=self.merchant.public_id, changes={"metadata": metadata})


def history_through(merchant: Merchant) -> date | None:
    value = (merchant.metadata or {}).get(HISTORY_MARKER)
    return date.fromisoformat(value) if value else None


def demo_history_seed(
    *,
    merchant_id: str,
    days: int,
    payments_per_day: int = PAYMENTS_PER_DAY,
    seed: int = DEFAULT_SEED,
    on_day: Callable[[date, Counter], None] | None = None,
) -> HistoryResult:
    """Write the ``days`` before today (UTC) that are not written yet; see the module docstring."""
    today = timezone.now().date()
    merchant = Merchant.objects.get(public_id=merchant_id)
    result = HistoryResult(already_through=history_through(merchant))
    first = today - timedelta(days=days)
    if result.already_through is not None:
        first = max(first, result.already_through + timedelta(days=1))
    result.days = [first + timedelta(days=n) for n in range((today - first).days)]
    if not result.days:
        return result
    rng = random.Random(f"{seed}:{first.isoformat()}")
    history = _History(merchant=merchant, today=today, rng=rng, result=result)
    with demo_clock() as clock:
        clock.set(_at(first, 6 * 3600))
        endpoints = demo_endpoints_ensure(merchant_id=merchant_id)
        result.webhooks = endpoints is not None
        receivers = DemoReceivers(
            rng=random.Random(f"{seed}:webhooks:{first.isoformat()}"),
            erp_down_from=erp_down_from(_at(today, 0)),
        )
        for day in result.days:
            before = Counter(result.counts)
            _day_run(history, clock, day, payments_per_day, endpoints, receivers)
            if on_day is not None:
                on_day(day, result.counts - before)
    return result


def _day_kinds(rng: random.Random, count: int) -> list[str]:
    """The kinds of a day's ``count`` payments: one of each at least, the rest by their shares."""
    kinds = [name for name, _ in KIND_SHARES]
    for _ in range(count - len(kinds)):
        roll = rng.random()
        kind = "approved"
        for name, share in KIND_SHARES:
            if roll < share:
                kind = name
                break
            roll -= share
        kinds.append(kind)
    return kinds


def _day_run(
    history: _History,
    clock: DemoClock,
    day: date,
    per_day: int,
    endpoints: DemoEndpoints | None,
    receivers: DemoReceivers,
) -> None:
    rng = history.rng
    weekend = day.weekday() >= 5
    count = max(len(KIND_SHARES) + 2, round(per_day * (1.25 if weekend else 1.0) * rng.uniform(0.8, 1.2)))
    payments = [
        _Step(
            at=_at(day, rng.uniform(7 * 3600, 23 * 3600)), run=functools.partial(history.payment, day, kind)
        )
        for kind in _day_kinds(rng, count)
    ]
    history.run_day(day, clock, payments)
    if endpoints is not None:
        clock.set(_at(day, 23.9 * 3600))
        demo_deliveries_run(endpoints=endpoints, receivers=receivers)
    # The night: settle everything before the next day's midnight, pay out, tell the ERP.
    night = day + timedelta(days=1)
    clock.set(_at(night, 2 * 3600))
    history.settle(night)
    if endpoints is not None:
        clock.set(_at(night, 2.5 * 3600))
        demo_deliveries_run(endpoints=endpoints, receivers=receivers)
    history.mark(day)
    history.day_index += 1
