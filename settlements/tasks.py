"""Celery tasks of settlements: thin wrappers over its services (beat runs the nightly one)."""

import logging
from datetime import date

from celery import shared_task

from settlements.errors import SettlementRunInProgressError
from settlements.services import payout_send, payouts_update, settlement_run

logger = logging.getLogger("paysys.settlements")

# A night of a large platform, with room; killed past it, the next run resumes (no soft limit:
# its exception would be taken for one merchant's failure).
SETTLEMENT_RUN_TIME_LIMIT_SECONDS = 2 * 3600


@shared_task(
    name="paysys.settlements.settlement_run", ignore_result=True, time_limit=SETTLEMENT_RUN_TIME_LIMIT_SECONDS
)
def settlement_run_task(day: str | None = None) -> dict:
    """Nightly: settle every merchant for run date ``day`` (ISO date; today, UTC, by default)."""
    try:
        result = settlement_run(date=date.fromisoformat(day) if day else None)
    except SettlementRunInProgressError:
        logger.warning("settlement run skipped: another run holds the lock")
        return {"skipped": "in_progress"}
    return {
        "date": result.batch.date.isoformat(),
        "settled": result.settled,
        "carried_forward": result.carried_forward,
        "failed": result.failed,
    }


@shared_task(name="paysys.settlements.payout_send", ignore_result=True)
def payout_send_task(payout_pk: int) -> str:
    """Hand a pending payout to the bank (queued after the settlement commits)."""
    return payout_send(payout_pk=payout_pk).status


@shared_task(name="paysys.settlements.payouts_update", ignore_result=True)
def payouts_update_task() -> dict[str, int]:
    """Ask the bank about payouts due, and send pending ones whose message was lost."""
    return payouts_update()
