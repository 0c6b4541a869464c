"""Payment methods, payments, refunds, disputes, processor operations and the risk blocklist.

Amounts are django-money ``MoneyField``s (``fields.AmountField``: NUMERIC(19, 3)) sharing one
upper-case ``currency`` column per row: every amount of a payment is in its currency, one
column states it once, an amount in another currency is refused, and set-based SQL
(settlements, reports) reads the amounts directly. Reading one gives ``Money``; the API
converts to integer minor units in ``paysys.money`` only.

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
