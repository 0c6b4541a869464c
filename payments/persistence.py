"""Payments' persistence seam: the SQL the services do not leave to the ORM's usual path.

Everything here is a speed trick with a measured reason (docs/decisions.md, "Hot querysets
are compiled once per connection" and "a payment's transitions are one statement each"):

- ``payment_lock`` / ``payment_read``: a payment with what its API object shows, read through
  a ``CompiledQuery`` (compiled once per connection, instances built by Django's own machinery);
- ``payment_save``: a payment's transition as one ``UPDATE … RETURNING`` feeding the ``INSERT``
  of its simple-history row, stamped as simple-history's signal path stamps it (tested against
  ``save()`` field by field in tests/payments/test_history_save.py);
- ``blocklist_matches``: the risk blocklist's lookup of three signals in one statement.

Services call these functions and nothing below them: a trick that stops earning its place is
replaced here (``payment_save`` becomes ``payment.save()``) without touching a use case.
Payments map no SQLSTATE to a domain error of their own: the ledger's refusals arrive already
mapped from ``accounts``.
"""

import functools

from django.db import DatabaseError, connection, models
from django.db.models import Q
from django.utils import timezone

from payments.models import BlocklistEntry, Payment
from paysys.audit.history import history_stamp
from paysys.db.compiled import CompiledQuery

# What a payment's API object shows besides the payment: read with it in one statement.
_PAYMENT_RELATED = ("merchant", "payment_method", "source_account")
_PAYMENT_LOCK = CompiledQuery(
    lambda pk: (
        Payment.objects.select_for_update(of=("self",), no_key=True)
        .select_related(*_PAYMENT_RELATED)
        .filter(pk=pk)
    ),
    pk=int,
)
_PAYMENT_READ = CompiledQuery(
    lambda pk: Payment.objects.select_related(*_PAYMENT_RELATED).filter(pk=pk), pk=int
)
# Each pair through the (kind, value) unique index; a signal that is absent is passed as "".
_BLOCKLISTED = CompiledQuery(
    lambda fingerprint, ip, email: BlocklistEntry.objects.filter(
        Q(kind=BlocklistEntry.Kind.FINGERPRINT, value=fingerprint)
        | Q(kind=BlocklistEntry.Kind.IP, value=ip)
        | Q(kind=BlocklistEntry.Kind.EMAIL, value=email)
    ),
    fingerprint=str,
    ip=str,
    email=str,
)


def payment_lock(*, payment_pk: int) -> Payment:
    """Lock the payment row (``FOR NO KEY UPDATE``) and read it with what its API object shows."""
    return _PAYMENT_LOCK.get(pk=payment_pk)


def payment_read(payment_pk: int) -> Payment:
    """The payment as committed, with what its API object shows."""
    return _PAYMENT_READ.get(pk=payment_pk)


def blocklist_matches(*, fingerprint: str, ip: str, email: str) -> list[BlocklistEntry]:
    """The blocklist entries naming any of the signals ("" for a signal that is absent)."""
    return _BLOCKLISTED.all(fingerprint=fingerprint, ip=ip, email=email)


@functools.cache
def _update_with_history_sql(model: type[models.Model]) -> tuple[str, tuple[models.Field, ...]]:
    """``UPDATE <table> SET every column WHERE id`` feeding ``INSERT`` of its history row."""
    meta = model._meta
    history = model._history_records
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    tracked = [f.attname for f in history.fields_included(model)]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    columns = ", ".join(quote(meta.get_field(name).column) for name in tracked)
    table, history_table = quote(meta.db_table), quote(model.history.model._meta.db_table)
    # Identifiers from the model's own metadata, quoted; every value is a parameter.
    update = f"UPDATE {table} SET {assignments} WHERE {quote(meta.pk.column)} = %s RETURNING {columns}"  # noqa: S608
    stamp = "history_date, history_change_reason, history_type, history_user_id"
    insert = f"INSERT INTO {history_table} ({columns}, {stamp}) SELECT {columns}, %s, %s, '~', %s FROM u"  # noqa: S608
    sql = f"WITH u AS ({update}) {insert}"
    return sql, fields


def payment_save(payment: Payment) -> None:
    """Save every field of an existing payment and write its history row, as ``save()`` would.

    A payment moves through up to four states in one ``POST /v1/payments``: each move is one
    statement instead of ``save()`` plus simple-history's signal (two statements and about
    1.1 ms of Python). The history row's user and change reason come from simple-history's own
    lookups (``get_history_user``, ``get_change_reason_for_object``) and the audit context.
    """
    model = type(payment)
    records = model._history_records
    sql, fields = _update_with_history_sql(model)
    params = [f.get_db_prep_save(f.pre_save(payment, add=False), connection) for f in fields]
    user = records.get_history_user(payment)
    stamped_user, stamped_reason = history_stamp()
    user_id = user.pk if user is not None else stamped_user
    reason = records.get_change_reason_for_object(payment, "~", None) or stamped_reason
    params += [payment.pk, getattr(payment, "_history_date", timezone.now()), reason, user_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != 1:
            raise DatabaseError(f"{model.__name__} {payment.pk} was not updated (no such row)")
