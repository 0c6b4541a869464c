"""Payments' persistence seam: the SQL the services do not leave to the ORM's usual path.

Everything here is a speed trick with a measured reason (docs/decisions.md, "Hot querysets
are compiled once per connection" and "Internals held to the 10 % rule"):

- ``payment_lock`` / ``payment_read``: a payment with what its API object shows, read through
  a ``CompiledQuery`` (compiled once per connection, instances built by Django's own machinery);
- ``blocklist_matches``: the risk blocklist's lookup of three signals in one statement.

Services call these functions and nothing below them: a trick that stops earning its place is
replaced here without touching a use case. A payment's transition is a plain ``save()``: the
one-statement save with its history row did not earn its 10 % (docs/decisions.md).
Payments map no SQLSTATE to a domain error of their own: the ledger's refusals arrive already
mapped from ``accounts``.
"""

from django.db.models import Q

from payments.models import BlocklistEntry, Payment
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
