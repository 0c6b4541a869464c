"""Payment use cases: tokenize, create, confirm, capture, cancel, expire, review, refund, dispute.

One module per use case: ``methods`` (tokenize), ``create`` (create, confirm), ``wallet``,
``capture``, ``cancel`` (cancel, expire), ``review``, ``refunds``, ``disputes``, ``resolve``
(unknown outcomes), ``blocklist`` (the risk blocklist's entries). They share ``transitions``
(a payment's checked, recorded moves), ``operations`` (processor calls), ``answers`` (applying
the processor's answers, resuming a keyed request), ``outcomes`` (what a capture, a cancel or a
refund books) and ``events``.
The SQL of their hot paths is in ``payments.persistence``.

Talking to the processor
------------------------
A processor call never runs inside a database transaction that holds locks for it: each use
case is a sequence of short transactions around the call.

1. *Begin* (one transaction, payment row locked): check the action against the state table
   (``payments.states``), record a ``ProcessorOperation`` (unique ``reference`` such as
   ``pay_…:capture:1f3a9c0e``, so a retried call is one operation at the processor) and move the
   payment to ``processing``. A concurrent action now sees ``processing`` and gets a 409.
2. *Call* the processor (timeout + circuit breaker, ``payments.processor``).
3. *Apply* the answer (one transaction, payment row locked, the operation still ``pending``):
   move the payment on, post to the ledger, write the audit row and the outbox event.
   A timeout applies nothing: the payment stays ``processing`` and the beat task
   ``payments_resolve_processing`` asks the processor ``status(reference)`` later; the answer
   is applied by the same code. ``None`` (the processor never received it) is the only
   answer that lets paysys conclude "not done" (``not_sent``); it never guesses.

When an ``Idempotency-Key`` wraps the request, the platform runs the view in one database
transaction (``paysys.idempotency``) and the steps above are savepoints of it, except that
sending an operation (``operation_send``) first commits the work so far as the key's recovery
point (an idempotency checkpoint naming the operation's reference). A crash after that leaves
the payment and its pending operation committed: a retry with the key resumes
(``request_resume``: the operation is sent again under its reference, the processor answers
with its first result, and the use case goes on from the payment's state); what nobody
retries, ``payments_resolve_processing`` finishes.

Ledger postings (sign convention of ``accounts.services``: + credits the holder)
------------------------------------------------------------------------------
* Card capture of C with fee F and split transfers T (one transaction, ``capture:pay_…``):
  platform ``card_clearing`` -C, platform ``fees`` +F, each destination merchant's ``pending`` +T,
  the merchant's ``pending`` +(C-F-T). F is computed once, at capture, from the merchant's fee
  plan, half-up to the minor unit, and capped at C-T. The merchant's account is only credited,
  so a merchant's concurrent captures never queue on its row.
* Wallet capture: the wallet hold is captured into the merchant's ``pending`` (``hold_capture``,
  the rest of the hold released), then ``fee:pay_…``: merchant ``pending`` -(F+T), ``fees`` +F,
  destinations +T.
* Refund R (``refund:re_…``): the merchant is debited ``available`` first, then ``pending``, then
  ``reserve`` (each down to zero); if the three cannot cover R the refund fails with 400
  ``balance_insufficient`` and nothing moves. The source is credited: ``card_clearing`` +R for a
  card, the customer's wallet +R for a wallet. Fees and split transfers are not returned.
  A refund the processor declines is reversed (``ledger_reverse``) and marked ``failed``.
* Dispute opened on D = captured - refunded, with the dispute fee X (the merchant's fee plan
  for the currency, else ``PAYSYS_DISPUTE_FEE_MINOR``), ``dispute:dp_…``: the network takes D
  back at once (``card_clearing`` +D) and the platform earns X (``fees`` +X); the merchant pays
  D+X by the refund rule; whatever its balances cannot cover (the shortfall S) is carried by the
  platform's ``dispute_losses`` (-S) instead of failing, because a chargeback cannot be refused.
* Dispute won (``dispute_won:dp_…``): the network returns D (``card_clearing`` -D); it first
  repays ``dispute_losses`` (+S), the rest goes to the merchant's ``pending`` (+D-S). The fee X
  is not returned. Dispute lost: no new posting: the merchant's debit stands and S stays booked
  on ``dispute_losses`` as the platform's loss.

Every transition writes an audit row and an outbox event in the same transaction as its
postings. Locks: the payment row first (``payment_lock``), then ledger accounts in ascending
id (``accounts.services.accounts_lock``, called by the ledger itself).
"""

from payments.persistence import payment_lock
from payments.services.blocklist import blocklist_entry_add, blocklist_entry_remove
from payments.services.cancel import payment_cancel, payment_expire, payments_expire_authorizations
from payments.services.capture import payment_capture
from payments.services.create import TransferRequest, payment_confirm, payment_create
from payments.services.disputes import dispute_close, dispute_evidence_submit, dispute_open
from payments.services.methods import payment_method_create
from payments.services.refunds import refund_create
from payments.services.resolve import RESOLVE_MIN_AGE, payments_resolve_processing
from payments.services.review import payment_review_approve, payment_review_decline

__all__ = [
    "RESOLVE_MIN_AGE",
    "TransferRequest",
    "blocklist_entry_add",
    "blocklist_entry_remove",
    "dispute_close",
    "dispute_evidence_submit",
    "dispute_open",
    "payment_cancel",
    "payment_capture",
    "payment_confirm",
    "payment_create",
    "payment_expire",
    "payment_lock",
    "payment_method_create",
    "payment_review_approve",
    "payment_review_decline",
    "payments_expire_authorizations",
    "payments_resolve_processing",
    "refund_create",
]
