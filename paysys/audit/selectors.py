"""Reading the audit log, and checking its chains.

``audit_chain_verify`` reads each chain's head first, then walks the chain's rows up to the
head's position in ``seq`` order (rows committed meanwhile are left for the next run, so it
needs no long snapshot and does not block writers). For every row it recomputes the hash and
checks the link to the previous row; it reports:

- ``tampered``: the stored hash is not the hash of the row's fields (a field was changed);
- ``gap``: positions missing before this row (rows were deleted);
- ``broken_link``: ``prev_hash`` is not the previous row's hash (rows were swapped or forged);
- ``head_mismatch``: the chain ends before, or differently from, what its head records (rows
  were deleted at the end, or the head was changed);
- ``orphan_chain``: rows in a chain that has no head;
- ``head_missing``: a chain head is gone (``migrate`` creates every head and none may be
  deleted, so only a TRUNCATE behind the triggers' back removes one);
- ``rows_missing``: the log holds fewer rows than a stored verification (``AuditVerification``)
  once counted (rows only ever grow, so the log was emptied or cut and its heads rewritten).

It also returns ``heads_digest``, a SHA-256 over every head it verified (chain, seq, hash).
Logged and kept outside the database (log shipping), a digest anchors the chains: whoever
rewrites rows and every later hash still cannot make an old digest match again.
"""

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Max, QuerySet

from paysys.audit.chain import audit_row_hash
from paysys.audit.models import (
    AUDIT_CHAIN_COUNT,
    GENESIS_HASH,
    AuditChainHead,
    AuditEvent,
    AuditVerification,
)

VERIFY_CHUNK_SIZE = 2000


@dataclass(frozen=True)
class AuditProblem:
    kind: str
    chain: int | None
    seq: int | None
    event_id: str | None
    detail: str


@dataclass
class AuditVerifyReport:
    chains: int = 0
    rows: int = 0
    problems: list[AuditProblem] = field(default_factory=list)
    heads_digest: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_event_list(
    *,
    merchant_id: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    event_type: str | None = None,
    correlation_id: str | None = None,
    created_gte: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Audit rows, newest first, filtered by whatever is given."""
    qs = AuditEvent.objects.all()
    filters = {
        "merchant_id": merchant_id,
        "object_type": object_type,
        "object_id": object_id,
        "event_type": event_type,
        "correlation_id": correlation_id,
        "created__gte": created_gte,
    }
    qs = qs.filter(**{k: v for k, v in filters.items() if v is not None})
    return qs.order_by("-id")


def _chained_values(row: AuditEvent) -> dict:
    return {f.attname: getattr(row, f.attname) for f in AuditEvent._meta.concrete_fields}


def _chain_rows(chain: int, up_to_seq: int | None) -> Iterator[AuditEvent]:
    qs = AuditEvent.objects.filter(chain=chain)
    if up_to_seq is not None:
        qs = qs.filter(seq__lte=up_to_seq)
    return qs.order_by("seq").iterator(chunk_size=VERIFY_CHUNK_SIZE)


def _chain_verify(chain: int, head: AuditChainHead | None, report: AuditVerifyReport) -> None:
    expected_seq, prev_hash = 1, GENESIS_HASH
    for row in _chain_rows(chain, head.seq if head is not None else None):
        report.rows += 1
        if row.seq != expected_seq:
            report.problems.append(
                AuditProblem(
                    "gap",
                    chain,
                    row.seq,
                    row.event_id,
                    f"positions {expected_seq}..{row.seq - 1} are missing",
                )
            )
        elif row.prev_hash != prev_hash:
            report.problems.append(
                AuditProblem(
                    "broken_link", chain, row.seq, row.event_id, "prev_hash is not the previous row's hash"
                )
            )
        if audit_row_hash(_chained_values(row)) != row.hash:
            report.problems.append(
                AuditProblem("tampered", chain, row.seq, row.event_id, "hash does not match the row's fields")
            )
        expected_seq, prev_hash = row.seq + 1, row.hash

    last_seq = expected_seq - 1
    if head is None:
        if last_seq:
            report.problems.append(
                AuditProblem("orphan_chain", chain, None, None, f"{last_seq} rows but no chain head")
            )
    elif head.seq != last_seq or head.hash != prev_hash:
        report.problems.append(
            AuditProblem(
                "head_mismatch",
                chain,
                head.seq,
                None,
                f"head is at {head.seq}, the chain's last row at {last_seq}",
            )
        )


def audit_heads_digest(heads: Iterable[AuditChainHead]) -> str:
    lines = "\n".join(f"{h.chain}:{h.seq}:{h.hash}" for h in sorted(heads, key=lambda h: h.chain))
    return hashlib.sha256(lines.encode("ascii")).hexdigest()


def audit_chain_verify() -> AuditVerifyReport:
    """Walk every chain, recompute every hash; see the module docstring for what is reported."""
    report = AuditVerifyReport()
    counted_before = AuditVerification.objects.aggregate(rows=Max("rows"))["rows"] or 0
    heads = {head.chain: head for head in AuditChainHead.objects.order_by("chain")}
    report.heads_digest = audit_heads_digest(heads.values())
    for chain in sorted(set(range(AUDIT_CHAIN_COUNT)) - set(heads)):
        report.problems.append(AuditProblem("head_missing", chain, None, None, "the chain head is gone"))
    chains = set(heads) | set(AuditEvent.objects.values_list("chain", flat=True).distinct().order_by())
    for chain in sorted(chains):
        report.chains += 1
        _chain_verify(chain, heads.get(chain), report)
    if report.rows < counted_before:
        report.problems.append(
            AuditProblem(
                "rows_missing",
                None,
                None,
                None,
                f"the log holds {report.rows} rows, a stored verification counted {counted_before}",
            )
        )
    return report
