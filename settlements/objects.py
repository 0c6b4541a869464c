"""Settlements, their lines and payouts as the API shows them: one rendering for responses,
event payloads and the CSV export. Amounts in the currency's minor unit, currencies in lower
case, times in ISO 8601 UTC."""

from datetime import datetime
from typing import Any

from moneyed import Money

from paysys.money import money_to_minor
from settlements.models import Payout, Settlement, SettlementLine

SETTLEMENT_AMOUNTS = (
    "gross",
    "fees",
    "refunds",
    "disputes",
    "adjustments",
    "reserve_withheld",
    "reserve_released",
    "net",
)
# A line's id: its row, with a prefix (lines are many and have no random public id).
LINE_ID_PREFIX = "sl"
LINE_COLUMNS = ("id", "type", "source", "transaction", "amount", "fee", "gross", "currency", "created")


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _minor(value: Money) -> int:
    return money_to_minor(value)


def line_id(pk: int) -> str:
    return f"{LINE_ID_PREFIX}_{pk}"


def line_pk(public_id: str) -> int:
    """The row of a line id; ``ValueError`` for anything else."""
    prefix, _, digits = public_id.partition("_")
    if prefix != LINE_ID_PREFIX or not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        raise ValueError(public_id)
    return int(digits)


def settlement_object(settlement: Settlement) -> dict[str, Any]:
    payout = getattr(settlement, "payout", None) if settlement.pk else None
    return {
        "id": settlement.public_id,
        "object": "settlement",
        **{name: _minor(getattr(settlement, name)) for name in SETTLEMENT_AMOUNTS},
        "currency": settlement.currency.lower(),
        "count": settlement.count,
        "period_end": _time(settlement.period_end),
        "date": settlement.batch.date.isoformat(),
        "status": settlement.status,
        "payout": payout.public_id if payout is not None else None,
        "created": _time(settlement.created),
        "livemode": settlement.livemode,
    }


def settlement_line_object(line: SettlementLine) -> dict[str, Any]:
    return {
        "id": line_id(line.pk),
        "object": "settlement_line",
        "type": line.type,
        "source": line.source,
        "transaction": line.transaction.public_id,
        "amount": _minor(line.amount),
        "fee": _minor(line.fee),
        "gross": _minor(line.gross),
        "currency": line.currency.lower(),
        "created": _time(line.created),
    }


def payout_object(payout: Payout) -> dict[str, Any]:
    return {
        "id": payout.public_id,
        "object": "payout",
        "amount": _minor(payout.amount),
        "currency": payout.currency.lower(),
        "status": payout.status,
        "arrival_date": payout.arrival_date.isoformat() if payout.arrival_date else None,
        "settlement": payout.settlement.public_id,
        "failure_code": payout.failure_code or None,
        "created": _time(payout.created),
        "livemode": payout.livemode,
    }
