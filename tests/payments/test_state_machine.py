"""Every (action, status) pair of the state table, generated from the table itself.

For each pair a payment is brought to the status through the services, then the action is
attempted through its service: an allowed pair must end in one of the table's targets; a
forbidden one must raise the API's 409 ``payment_unexpected_state`` naming the current status
and leave the payment as it was.
"""

from datetime import timedelta

import pytest
from moneyed import Money

from payments.services import (
    dispute_open,
    payment_cancel,
    payment_capture,
    payment_confirm,
    payment_create,
    payment_expire,
    payment_review_approve,
    payment_review_decline,
    payments_resolve_processing,
    refund_create,
)
from payments.states import TRANSITIONS, Action, PaymentUnexpectedStateError, Status, transition_check
from paysys.audit.models import AuditEvent
from paysys.errors import CardError
from paysys.events.models import Event
from tests.payments.conftest import card

AMOUNT = Money("10.00", "EUR")


def _create(merchant, number: str, **kwargs):
    return payment_create(merchant=merchant, amount=AMOUNT, card=card(number), **kwargs)


def build(status: Status, merchant, settings):
    """A real payment in ``status``, made through the services."""
    if status == Status.PROCESSING:
        settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 1.0
        payment = _create(merchant, "4242424242424242", capture_method="manual")
        settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.0
        return payment
    if status == Status.REQUIRES_ACTION:
        return _create(merchant, "4000000000003220", capture_method="manual")
    if status == Status.REQUIRES_REVIEW:
        return _create(merchant, "4100000000000019", capture_method="manual")
    if status == Status.REQUIRES_CAPTURE:
        return _create(merchant, "4242424242424242", capture_method="manual")
    if status == Status.SUCCEEDED:
        return _create(merchant, "4242424242424242")
    if status == Status.CANCELED:
        return payment_cancel(payment=_create(merchant, "4242424242424242", capture_method="manual"))
    if status == Status.FAILED:
        with pytest.raises(CardError) as info:
            _create(merchant, "4000000000000002")
        from payments.models import Payment

        return Payment.objects.get(public_id=info.value.extra["payment"])
    raise AssertionError(status)


PERFORM = {
    Action.RESOLVE: lambda p: payments_resolve_processing(min_age=timedelta(0)),
    Action.CONFIRM: lambda p: payment_confirm(payment=p, challenge_passed=True),
    Action.REVIEW_APPROVE: lambda p: payment_review_approve(payment_id=p.public_id, operator_id="1"),
    Action.REVIEW_DECLINE: lambda p: payment_review_decline(payment_id=p.public_id, operator_id="1"),
    Action.CAPTURE: lambda p: payment_capture(payment=p),
    Action.CANCEL: lambda p: payment_cancel(payment=p),
    Action.EXPIRE: lambda p: payment_expire(payment=p),
    Action.REFUND: lambda p: refund_create(payment=p, amount=Money("1.00", "EUR")),
    Action.DISPUTE: lambda p: dispute_open(payment_id=p.public_id, reason="fraudulent", operator_id="1"),
}
PAIRS = [(action, status) for action in Action for status in Status]

# Where each allowed pair ends with a healthy processor, from the payments ``build`` makes
# (manual capture): the one target, of the table's several, that these inputs must reach.
_CANCELABLE = (Status.REQUIRES_ACTION, Status.REQUIRES_REVIEW, Status.REQUIRES_CAPTURE)
EXPECTED = {
    (Action.RESOLVE, Status.PROCESSING): Status.REQUIRES_CAPTURE,
    (Action.CONFIRM, Status.REQUIRES_ACTION): Status.REQUIRES_CAPTURE,
    (Action.REVIEW_APPROVE, Status.REQUIRES_REVIEW): Status.REQUIRES_CAPTURE,
    (Action.REVIEW_DECLINE, Status.REQUIRES_REVIEW): Status.CANCELED,
    (Action.CAPTURE, Status.REQUIRES_CAPTURE): Status.SUCCEEDED,
    **{(Action.CANCEL, status): Status.CANCELED for status in _CANCELABLE},
    **{(Action.EXPIRE, status): Status.CANCELED for status in _CANCELABLE},
    (Action.REFUND, Status.SUCCEEDED): Status.SUCCEEDED,
    (Action.DISPUTE, Status.SUCCEEDED): Status.SUCCEEDED,
}


def test_every_action_has_a_performer():
    assert set(PERFORM) == set(Action) == set(TRANSITIONS)


def test_the_expected_outcomes_cover_exactly_the_allowed_pairs_and_lie_in_the_table():
    allowed = {(action, status) for action, t in TRANSITIONS.items() for status in t.sources}
    assert set(EXPECTED) == allowed
    assert all(target in TRANSITIONS[action].targets for (action, _), target in EXPECTED.items())


@pytest.mark.parametrize(("action", "status"), PAIRS, ids=[f"{a.value}-from-{s.value}" for a, s in PAIRS])
def test_transition_follows_the_table(action, status, merchant, settings):
    payment = build(status, merchant, settings)
    assert payment.status == status
    allowed = status in TRANSITIONS[action].sources
    if action == Action.RESOLVE and not allowed:
        # The resolver only ever sees pending operations; the guard itself must refuse.
        with pytest.raises(PaymentUnexpectedStateError):
            transition_check(action=action, status=status)
        PERFORM[action](payment)
        payment.refresh_from_db()
        assert payment.status == status
        return
    if allowed:
        audited = AuditEvent.objects.count()
        events = Event.objects.count()
        PERFORM[action](payment)
        payment.refresh_from_db()
        assert payment.status == EXPECTED[(action, status)]
        # The transition wrote its audit row and its outbox event (on the payment, or on the
        # refund or dispute it made).
        assert AuditEvent.objects.count() > audited
        assert Event.objects.count() > events
        if action == Action.REFUND:
            assert payment.amount_refunded == Money("1.00", "EUR")
        if action == Action.DISPUTE:
            assert payment.disputed
    else:
        before = (payment.status, payment.amount_captured, payment.amount_refunded)
        with pytest.raises(PaymentUnexpectedStateError) as info:
            PERFORM[action](payment)
        assert info.value.status_code == 409
        assert info.value.code == "payment_unexpected_state"
        assert status.value in info.value.message
        payment.refresh_from_db()
        assert (payment.status, payment.amount_captured, payment.amount_refunded) == before
