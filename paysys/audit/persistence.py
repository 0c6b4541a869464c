"""The audit app's SQL: appending a row to a hash chain, and the rows that come back.

``audit_row_append`` is the one statement of the hot path, a call of the PostgreSQL function
``audit_append`` (migration audit/0003; the ledger's functions call it by name too).
``audit_head_lock`` and ``audit_row_insert`` are the slow path for a row the function cannot
take: wait for a chain head, then insert the row linked in Python and move the head, in one
statement. Every function joins the caller's transaction.
"""

from collections.abc import Sequence

from django.db import connection

from paysys.audit.models import AuditChainHead, AuditEvent

_HEAD_TABLE = AuditChainHead._meta.db_table
_EVENT_TABLE = AuditEvent._meta.db_table

_HEAD_LOCK_WAIT_SQL = f"SELECT chain, seq, hash FROM {_HEAD_TABLE} WHERE chain = %(start)s FOR UPDATE"  # noqa: S608
# The function that locks a head, inserts the row hashed and moves the head; its arguments are
# ``paysys.audit.services.audit_append_args``.
_APPEND_SQL = "audit_append(%s::jsonb, %s, %s, %s, ARRAY[%s, %s, %s, %s])"


def _saved(event: AuditEvent) -> None:
    event._state.adding = False
    event._state.db = connection.alias


def audit_row_append(event: AuditEvent, args: Sequence) -> None:
    """Append ``event`` through ``audit_append(args)``; marks it saved with the id, chain, seq,
    prev_hash and hash the function gave it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {_APPEND_SQL}", list(args))  # noqa: S608
        event.pk, event.chain, event.seq, event.prev_hash, event.hash = cursor.fetchone()
    _saved(event)


def audit_head_lock(*, start: int) -> tuple[int, int, str]:
    """Lock chain head ``start``, waiting for it: (chain, seq, hash)."""
    with connection.cursor() as cursor:
        cursor.execute(_HEAD_LOCK_WAIT_SQL, {"start": start})
        chain, seq, hash_ = cursor.fetchone()
    return chain, seq, hash_


def audit_row_insert(event: AuditEvent) -> None:
    """Insert ``event``, already linked to the head this transaction locked, and move that head."""
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    params = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH ins AS (INSERT INTO {_EVENT_TABLE} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
            " RETURNING id, chain, seq, hash)"
            f" UPDATE {_HEAD_TABLE} AS head SET seq = ins.seq, hash = ins.hash"
            " FROM ins WHERE head.chain = ins.chain RETURNING ins.id",
            params,
        )
        (event.pk,) = cursor.fetchone()
    _saved(event)
