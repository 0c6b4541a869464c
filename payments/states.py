"""The payment state machine, declared once.

``TRANSITIONS`` maps every action to the statuses it may start from and the statuses it may
lead to. Services ask ``transition_check(action=..., status=...)`` under the payment's row
lock before doing anything; any pair not in the table is a 409 ``payment_unexpected_state``
naming the current status. The tests generate every allowed and every forbidden pair from
this table, so the table is the specification.

Statuses (as the API shows them)::

    processing ──resolve──> requires_action ──confirm──> requires_review ──approve──> requires_capture
         │                         │                            │                          │
         └──> failed               └──> failed / canceled       └──decline──> canceled     ├──capture──> succeeded
                                                                                           └──cancel/expire──> canceled

``processing`` means a processor operation (authorize, confirm, capture, void) is in flight
or its answer was lost (a timeout): a service sets it, with the operation recorded, before it
calls the processor, so a concurrent action sees 409 and a crash leaves a trace; only
``resolve`` (the answer, or asking the processor again) moves it on. Wallet payments never
wait on a processor and go straight to their target. Refunds and disputes do not change
the status of a ``succeeded`` payment; they change ``amount_refunded``/``refunded`` and
``disputed``, and are allowed only from ``succeeded``.
"""

from dataclasses import dataclass
from enum import StrEnum

from paysys.errors import ConflictError


class Status(StrEnum):
    PROCESSING = "processing"
    REQUIRES_ACTION = "requires_action"
    REQUIRES_REVIEW = "requires_review"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    FAILED = "failed"


class Action(StrEnum):
    RESOLVE = "resolve"  # the processor's answer to an operation whose outcome was unknown
    CONFIRM = "confirm"  # the customer completed (or failed) the 3-D-Secure-like challenge
    REVIEW_APPROVE = "review_approve"
    REVIEW_DECLINE = "review_decline"
    CAPTURE = "capture"
    CANCEL = "cancel"
    EXPIRE = "expire"
    REFUND = "refund"
    DISPUTE = "dispute"


S = Status
# Where an authorization may lead once the processor answered.
_AUTHORIZED = frozenset({S.REQUIRES_REVIEW, S.REQUIRES_CAPTURE, S.SUCCEEDED, S.PROCESSING})


@dataclass(frozen=True)
class Transition:
    sources: frozenset[Status]
    targets: frozenset[Status]


TRANSITIONS: dict[Action, Transition] = {
    Action.RESOLVE: Transition(
        sources=frozenset({S.PROCESSING}),
        targets=_AUTHORIZED | {S.REQUIRES_ACTION, S.FAILED, S.CANCELED},
    ),
    Action.CONFIRM: Transition(
        sources=frozenset({S.REQUIRES_ACTION}),
        targets=_AUTHORIZED | {S.FAILED},
    ),
    Action.REVIEW_APPROVE: Transition(
        sources=frozenset({S.REQUIRES_REVIEW}),
        targets=frozenset({S.REQUIRES_CAPTURE, S.SUCCEEDED, S.PROCESSING}),
    ),
    Action.REVIEW_DECLINE: Transition(
        sources=frozenset({S.REQUIRES_REVIEW}),
        targets=frozenset({S.CANCELED, S.PROCESSING}),
    ),
    Action.CAPTURE: Transition(
        sources=frozenset({S.REQUIRES_CAPTURE}),
        targets=frozenset({S.SUCCEEDED, S.PROCESSING}),
    ),
    Action.CANCEL: Transition(
        sources=frozenset({S.REQUIRES_ACTION, S.REQUIRES_REVIEW, S.REQUIRES_CAPTURE}),
        targets=frozenset({S.CANCELED, S.PROCESSING}),
    ),
    Action.EXPIRE: Transition(
        sources=frozenset({S.REQUIRES_ACTION, S.REQUIRES_REVIEW, S.REQUIRES_CAPTURE}),
        targets=frozenset({S.CANCELED, S.PROCESSING}),
    ),
    Action.REFUND: Transition(
        sources=frozenset({S.SUCCEEDED}),
        targets=frozenset({S.SUCCEEDED}),
    ),
    Action.DISPUTE: Transition(
        sources=frozenset({S.SUCCEEDED}),
        targets=frozenset({S.SUCCEEDED}),
    ),
}

TERMINAL_STATUSES = frozenset({S.CANCELED, S.FAILED})


class PaymentUnexpectedStateError(ConflictError):
    default_code = "payment_unexpected_state"


def transition_allowed(*, action: Action, status: str) -> bool:
    return Status(status) in TRANSITIONS[action].sources


def transition_check(*, action: Action, status: str) -> None:
    """Raise the API's 409 when ``action`` may not start from ``status``."""
    if not transition_allowed(action=action, status=status):
        raise PaymentUnexpectedStateError(
            f"This payment's status is {status}; it does not allow the action {action.value}.",
            param=None,
            current_status=status,
        )


def target_check(*, action: Action, target: str) -> None:
    """Guard a service's own choice of target status against the table (a programming error)."""
    if Status(target) not in TRANSITIONS[action].targets:
        raise AssertionError(f"{action.value} may not lead to {target}")
