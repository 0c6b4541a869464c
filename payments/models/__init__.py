"""Payment methods, payments, refunds, disputes, processor operations and the risk blocklist.

Amounts are ``DecimalField(19, 3)`` beside one upper-case ``currency`` column per row, as in
the ledger: every amount of a payment shares its currency, so one column states it once and
set-based SQL (settlements, reports) reads amounts directly. Services hand out ``Money``; the
API converts to integer minor units in ``paysys.money`` only.

What the database guarantees (named constraints): amounts are positive where they must be;
``0 <= amount_refunded <= amount_captured <= amount``; the capturable amount never exceeds the
amount; a payment has exactly one source (a card token or a wallet account); a processor
operation's ``reference`` is unique, so one operation is sent once; one dispute per payment.

No column holds a card number or CVC: a payment method keeps brand, last4, expiry, the keyed
fingerprint and the processor's token (see ``payments.processor.simulator``).
"""

from payments.models.fields import (
    new_dispute_id,
    new_payment_id,
    new_payment_method_id,
    new_refund_id,
    new_top_up_id,
)
from payments.models.operations import ProcessorBreak, ProcessorOperation
from payments.models.payments import Payment, PaymentMethod
from payments.models.refunds import Dispute, Refund
from payments.models.risk import BlocklistEntry
from payments.models.top_ups import TopUp

__all__ = [
    "BlocklistEntry",
    "Dispute",
    "Payment",
    "PaymentMethod",
    "ProcessorBreak",
    "ProcessorOperation",
    "Refund",
    "TopUp",
    # Migrations name the id defaults here.
    "new_dispute_id",
    "new_payment_id",
    "new_payment_method_id",
    "new_refund_id",
    "new_top_up_id",
]
