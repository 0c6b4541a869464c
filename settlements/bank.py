"""A simulated bank for payouts, like the card network simulator (``payments.processor.simulator``).

A payout is sent (``send``): the bank accepts it at once (``in_transit``) with an arrival date
``PAYSYS_BANK_SIMULATOR_ARRIVAL_DAYS`` after the sending day, and on that date reports it
``paid`` or ``failed`` (``status``). The outcome is deterministic, chosen by the merchant's setting
``metadata["payout_outcome"]`` (set by an operator, like a test card chooses a payment's
outcome): absent or ``"paid"`` pays; one of ``FAILURE_CODES`` fails with that code.
``PAYSYS_BANK_SIMULATOR_LATENCY_MS`` delays each answer.

The bank keeps its records in the Django cache (Redis when configured), so a web process and a
worker see the same bank; the same reference sent again answers with the first record.
"""

import time
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.cache import cache

OUTCOME_SETTING = "payout_outcome"
PAID = "paid"
IN_TRANSIT = "in_transit"
FAILED = "failed"
FAILURE_CODES = frozenset({"account_closed", "invalid_account_number", "could_not_process"})
STATE_TTL_SECONDS = 90 * 24 * 3600
_KEY = "paysys:bank:payout:{}"


@dataclass(frozen=True)
class BankAnswer:
    reference: str
    status: str  # in_transit, paid, failed
    arrival_date: date
    failure_code: str = ""


def outcome_for(metadata: dict) -> str:
    """The outcome a merchant's setting asks for: ``paid`` or a failure code."""
    wanted = str((metadata or {}).get(OUTCOME_SETTING, PAID))
    return wanted if wanted in FAILURE_CODES else PAID


def _latency() -> None:
    latency_ms = getattr(settings, "PAYSYS_BANK_SIMULATOR_LATENCY_MS", 0)
    if latency_ms:
        time.sleep(latency_ms / 1000)


def send(*, reference: str, outcome: str, day: date) -> BankAnswer:
    """Hand a payout to the bank; idempotent on ``reference``."""
    _latency()
    arrival = day + timedelta(days=settings.PAYSYS_BANK_SIMULATOR_ARRIVAL_DAYS)
    record = {"outcome": outcome, "arrival_date": arrival.isoformat()}
    # add(), not set(): if two sends of one reference race, the first record wins.
    cache.add(_KEY.format(reference), record, timeout=STATE_TTL_SECONDS)
    stored = cache.get(_KEY.format(reference), record)
    return BankAnswer(
        reference=reference, status=IN_TRANSIT, arrival_date=date.fromisoformat(stored["arrival_date"])
    )


def status(*, reference: str, today: date) -> BankAnswer | None:
    """What the bank says of a payout today; None if it never received it."""
    _latency()
    stored = cache.get(_KEY.format(reference))
    if stored is None:
        return None
    arrival = date.fromisoformat(stored["arrival_date"])
    if arrival > today:
        return BankAnswer(reference=reference, status=IN_TRANSIT, arrival_date=arrival)
    outcome = stored["outcome"]
    if outcome == PAID:
        return BankAnswer(reference=reference, status=PAID, arrival_date=arrival)
    return BankAnswer(reference=reference, status=FAILED, arrival_date=arrival, failure_code=outcome)


__all__ = ["BankAnswer", "outcome_for", "send", "status"]
