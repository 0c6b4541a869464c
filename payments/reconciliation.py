"""Processor reconciliation: what the processor did against what paysys believes it did.

``processor_reconcile(date=...)`` reads the processor's settlement report of a day (UTC; one
line per operation it performed: reference, kind, amount, currency, result, time) and matches
it by reference against ``ProcessorOperation`` rows. Each difference is a ``ProcessorBreak``:

* ``unknown_at_paysys``: the processor performed an operation no row records (a charge paysys
  lost, as a request rolled back after its processor call once did);
* ``unknown_at_processor``: paysys recorded an answer (succeeded, declined, requires_action)
  for an operation the processor does not report;
* ``amount_differs``: amount or currency differ;
* ``state_differs``: the results differ, including an operation still ``pending`` (its answer
  never applied) or ``not_sent`` at paysys that the processor performed.

The operations of the day are those created on it and those the report names; an operation
created just before midnight may be performed after it, so the next day's report is read too
for those still unmatched. Running a day again is idempotent: breaks are recorded once per
(date, reference, kind), and a recorded break the run no longer finds is marked resolved.
The run and its counts are an audit row.

Each mode has its own processor and so its own report: a run reconciles one mode's report with
that mode's operations, and records and resolves that mode's breaks. ``processor_reconcile_modes``
runs every mode, and skips live mode (saying so) while no live processor is configured: there
is no report to read, and no live operation was sent. Nightly by beat
(``paysys.payments.processor_reconcile``, for the day before) and
``manage.py reconcile_processor --date YYYY-MM-DD``.
"""

from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from payments.models import ProcessorBreak, ProcessorOperation
from payments.processor import DEFAULT_TIMEOUT_MS, ReportLine, processor_get, processor_live_configured
from paysys.audit.services import audit_record

Kind = ProcessorBreak.Kind
OpStatus = ProcessorOperation.OpStatus
ANSWERED = frozenset({OpStatus.SUCCEEDED, OpStatus.DECLINED, OpStatus.REQUIRES_ACTION})
# How many unresolved breaks ``verify_ledger`` lists.
UNRESOLVED_LISTED = 100


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _report(day: date, *, livemode: bool) -> list[ReportLine]:
    timeout = int(getattr(settings, "PAYSYS_PROCESSOR_TIMEOUT_MS", DEFAULT_TIMEOUT_MS)) / 1000
    return processor_get(livemode=livemode).settlement_report(date=day, timeout=timeout)


def _paysys_side(op: ProcessorOperation) -> dict:
    return {
        "kind": op.kind,
        "amount": None if op.amount is None else str(op.amount),
        "currency": op.payment.currency if op.amount is not None else "",
        "status": op.status,
    }


def _processor_side(line: ReportLine) -> dict:
    data = asdict(line)
    data.update(
        amount=None if line.amount is None else str(line.amount),
        status=line.status.value,
        performed_at=line.performed_at.isoformat(),
    )
    return data


def _differences(op: ProcessorOperation, line: ReportLine) -> list[str]:
    found = []
    ours = (
        None if op.amount is None else Decimal(op.amount),
        op.payment.currency if op.amount is not None else "",
    )
    theirs = (line.amount, line.currency.upper() if line.amount is not None else "")
    if ours != theirs:
        found.append(Kind.AMOUNT_DIFFERS)
    if op.status != line.status.value:
        found.append(Kind.STATE_DIFFERS)
    return found


def processor_reconcile(*, date: date, livemode: bool = False) -> dict[str, int]:
    """Match the report of ``date`` of the mode's processor against the mode's operations;
    record the mode's breaks."""
    lines = _report(date, livemode=livemode)
    start, end = _day_bounds(date)
    named = [line.reference for line in lines]
    operations = {
        op.reference: op
        for op in ProcessorOperation.objects.select_related("payment").filter(
            Q(created__gte=start, created__lt=end) | Q(reference__in=named), payment__livemode=livemode
        )
    }
    found: dict[tuple[str, str], tuple[ProcessorOperation | None, dict, dict]] = {}
    for line in lines:
        op = operations.get(line.reference)
        if op is None:
            found[(line.reference, Kind.UNKNOWN_AT_PAYSYS)] = (None, {}, _processor_side(line))
            continue
        for kind in _differences(op, line):
            found[(line.reference, kind)] = (op, _paysys_side(op), _processor_side(line))
    reported = set(named)
    unmatched = [
        op
        for op in operations.values()
        if op.reference not in reported and op.status in ANSWERED and start <= op.created < end
    ]
    if unmatched and date < timezone.now().date():
        later = {line.reference for line in _report(date + timedelta(days=1), livemode=livemode)}
        unmatched = [op for op in unmatched if op.reference not in later]
    for op in unmatched:
        found[(op.reference, Kind.UNKNOWN_AT_PROCESSOR)] = (op, _paysys_side(op), {})

    now = timezone.now()
    with transaction.atomic(durable=True):
        recorded = {
            (b.reference, b.kind): b
            for b in ProcessorBreak.objects.select_for_update().filter(date=date, livemode=livemode)
        }
        created = 0
        for (reference, kind), (op, ours, theirs) in found.items():
            existing = recorded.get((reference, kind))
            if existing is None:
                ProcessorBreak.objects.create(
                    date=date,
                    livemode=livemode,
                    kind=kind,
                    reference=reference,
                    operation=op,
                    paysys=ours,
                    processor=theirs,
                )
                created += 1
            elif existing.resolved_at is not None:
                ProcessorBreak.objects.filter(pk=existing.pk).update(
                    resolved_at=None, paysys=ours, processor=theirs
                )
        gone = [b.pk for key, b in recorded.items() if key not in found and b.resolved_at is None]
        ProcessorBreak.objects.filter(pk__in=gone).update(resolved_at=now)
        counts = {
            "livemode": livemode,
            "report_lines": len(lines),
            "operations": len(operations),
            "breaks": len(found),
            "new_breaks": created,
            "resolved": len(gone),
        }
        audit_record(
            event_type="processor.reconciled",
            object_type="processor_report",
            object_id=date.isoformat(),
            new_state="breaks" if found else "clean",
            metadata=counts,
        )
    return counts


def processor_reconcile_modes(*, date: date) -> dict[str, dict | None]:
    """``processor_reconcile`` of each mode: ``{"test": counts, "live": counts}``, with ``None``
    for live mode while no live processor is configured (skipped: nothing to reconcile)."""
    return {
        "test": processor_reconcile(date=date, livemode=False),
        "live": processor_reconcile(date=date, livemode=True) if processor_live_configured() else None,
    }


def processor_breaks_check() -> list[dict]:
    """``verify_ledger``'s check (registered by the app): the unresolved breaks, oldest day first."""
    return [
        {"date": str(b["date"]), "livemode": b["livemode"], "kind": b["kind"], "reference": b["reference"]}
        for b in ProcessorBreak.objects.filter(resolved_at__isnull=True)
        .order_by("date", "pk")
        .values("date", "livemode", "kind", "reference")[:UNRESOLVED_LISTED]
    ]
