"""The processor interface: what paysys asks of a card network, whichever one it is.

Every operation carries a ``reference`` chosen by paysys, unique per operation (for example
``pay_…:authorize`` or ``re_…:refund``). A processor must treat a repeated reference as the
same operation and answer with the first result, never act twice: that makes every call safe
to retry. ``status(reference=...)`` asks again about an operation whose answer was lost (a
timeout): it returns the recorded result, or ``None`` when the processor never received the
operation, which is the only case in which paysys may conclude that nothing happened.

``settlement_report(date=...)`` is the processor's settlement file for a day (UTC): one line
per operation it performed (``ReportLine``), whatever paysys heard of it; processor
reconciliation (``payments.reconciliation``) matches it against paysys' records.

Errors: ``ProcessorTimeoutError`` means the outcome is unknown (the operation may have been
done); ``ProcessorUnavailableError`` means the call certainly did not happen (refused,
5xx before acting, or the circuit breaker is open). Card declines are not errors: they are
results with ``status == "declined"`` and a ``decline_code``.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from moneyed import Money

from payments.cards import CardData


class ProcessorTimeoutError(Exception):
    """No answer in time: the operation may or may not have happened."""


class ProcessorUnavailableError(Exception):
    """The processor did not act (refused, failed before acting, or the breaker is open)."""


class OperationStatus(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"


@dataclass(frozen=True)
class ProcessorResult:
    reference: str
    status: OperationStatus
    authorization: str = ""
    decline_code: str = ""
    message: str = ""
    # The network's own fraud signal, 0-100, folded into paysys' risk score.
    risk_score: int = 0
    # Set when the network reports a dispute (chargeback) on the captured charge.
    dispute_reason: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == OperationStatus.SUCCEEDED

    def as_dict(self) -> dict:
        return {
            "reference": self.reference,
            "status": self.status.value,
            "authorization": self.authorization,
            "decline_code": self.decline_code,
            "message": self.message,
            "risk_score": self.risk_score,
            "dispute_reason": self.dispute_reason,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "ProcessorResult":
        return cls(
            reference=data["reference"],
            status=OperationStatus(data["status"]),
            authorization=data.get("authorization", ""),
            decline_code=data.get("decline_code", ""),
            message=data.get("message", ""),
            risk_score=int(data.get("risk_score", 0)),
            dispute_reason=data.get("dispute_reason", ""),
        )


@dataclass(frozen=True)
class ReportLine:
    """One operation the processor performed, as its settlement file lists it."""

    reference: str
    kind: str  # authorize, confirm, capture, void, refund
    amount: Decimal | None  # None for operations without an amount (confirm, void)
    currency: str  # "" with no amount
    status: OperationStatus
    performed_at: datetime


class Processor(ABC):
    """A card network seen from paysys. ``timeout`` is in seconds for every call."""

    @abstractmethod
    def tokenize(self, *, card: CardData) -> str:
        """Exchange the card for the processor's token; the only call that sees the number."""

    @abstractmethod
    def authorize(self, *, reference: str, token: str, amount: Money, timeout: float) -> ProcessorResult: ...

    @abstractmethod
    def confirm(
        self, *, reference: str, authorization: str, challenge_passed: bool, timeout: float
    ) -> ProcessorResult: ...

    @abstractmethod
    def capture(
        self, *, reference: str, authorization: str, amount: Money, timeout: float
    ) -> ProcessorResult: ...

    @abstractmethod
    def void(self, *, reference: str, authorization: str, timeout: float) -> ProcessorResult: ...

    @abstractmethod
    def refund(
        self, *, reference: str, authorization: str, amount: Money, timeout: float
    ) -> ProcessorResult: ...

    @abstractmethod
    def status(self, *, reference: str, timeout: float) -> ProcessorResult | None: ...

    @abstractmethod
    def settlement_report(self, *, date: date, timeout: float) -> list[ReportLine]: ...
