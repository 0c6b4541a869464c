"""A card network simulator that behaves like the real thing for every test card of API.md.

How a ``pm_`` token keeps its test behaviour without the card number: at tokenization the
simulator (which sees the number in memory, within the request) derives the card's
*behaviour* (approve, a decline code, processing error, action required, dispute, elevated
risk) and returns a processor token that carries only that behaviour and random characters,
``simtok:<behaviour>:<random>``. paysys stores that token, like a real gateway's network
token; the number itself is dropped at the end of the request.

The simulator keeps its own records (operations by reference, authorizations) in the Django
cache, so a web process and a Celery worker see the same "network" (Redis when configured).
A repeated reference answers with the first result and does nothing twice. Each operation
performed is also listed in the day's settlement report (``settlement_report``), as a
processor's settlement file would list it.

Fault injection, from settings (read on every call):
``PAYSYS_PROCESSOR_SIMULATOR_LATENCY_MS`` delays each answer; ``..._FAILURE_RATE`` refuses a
call before acting (``ProcessorUnavailableError``); ``..._TIMEOUT_RATE`` acts, records, then
loses the answer (``ProcessorTimeoutError``): the worst case, resolved later by ``status``.
A latency at or above the call's timeout is a timeout as well.
"""

import random
import secrets
import time
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from moneyed import Money

from payments.cards import CardData
from payments.processor.base import (
    OperationStatus,
    Processor,
    ProcessorResult,
    ProcessorTimeoutError,
    ProcessorUnavailableError,
    ReportLine,
)

APPROVE = "approve"
ACTION_REQUIRED = "action_required"
DISPUTE = "dispute"
ELEVATED_RISK = "elevated_risk"
DECLINE_PREFIX = "decline-"

# API.md's test cards and what the network does with each.
TEST_CARDS: dict[str, str] = {
    "4242424242424242": APPROVE,
    "4000000000000002": DECLINE_PREFIX + "generic_decline",
    "4000000000009995": DECLINE_PREFIX + "insufficient_funds",
    "4000000000009987": DECLINE_PREFIX + "lost_card",
    "4000000000000069": DECLINE_PREFIX + "expired_card",
    "4000000000000127": DECLINE_PREFIX + "incorrect_cvc",
    "4000000000000119": DECLINE_PREFIX + "processing_error",
    "4000000000003220": ACTION_REQUIRED,
    "4000000000000259": DISPUTE,
    "4100000000000019": ELEVATED_RISK,
}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "authentication_failed": "The customer failed the authentication challenge.",
}
ELEVATED_RISK_SCORE = 85
NORMAL_RISK_SCORE = 5
DISPUTE_REASON = "fraudulent"
TOKEN_PREFIX = "simtok"  # noqa: S105 - a label, not a secret
# Longer than the 7-day authorization lifetime, so an expiring authorization is still known.
STATE_TTL_SECONDS = 30 * 24 * 3600
_OP_KEY = "paysys:sim:op:{}"
_AUTH_KEY = "paysys:sim:auth:{}"
# A day's report of a settlement file: a counter of its lines, and each line under its number.
_REPORT_COUNT_KEY = "paysys:sim:report:{}:{}:count"
_REPORT_LINE_KEY = "paysys:sim:report:{}:{}:{}"
_rng = random.Random()


def token_behaviour(token: str) -> str:
    parts = token.split(":")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return APPROVE
    return parts[1]


class SimulatorProcessor(Processor):
    # Each adapter (each mode's processor) keeps its own settlement file.
    settlement_file = "test"

    # --- fault injection ------------------------------------------------------------------
    @staticmethod
    def _settings() -> tuple[float, float, float]:
        latency = getattr(settings, "PAYSYS_PROCESSOR_SIMULATOR_LATENCY_MS", 0) / 1000
        failure = float(getattr(settings, "PAYSYS_PROCESSOR_SIMULATOR_FAILURE_RATE", 0.0))
        timeout = float(getattr(settings, "PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE", 0.0))
        return latency, failure, timeout

    def _before(self) -> None:
        _, failure_rate, _ = self._settings()
        if failure_rate and _rng.random() < failure_rate:
            raise ProcessorUnavailableError("The simulated processor refused the call.")

    def _answer(self, result: ProcessorResult, *, timeout: float) -> ProcessorResult:
        """Deliver ``result`` after the configured latency, or lose it (a timeout)."""
        latency, _, timeout_rate = self._settings()
        lost = bool(timeout_rate) and _rng.random() < timeout_rate
        if lost or latency >= timeout:
            time.sleep(min(latency, timeout))
            raise ProcessorTimeoutError("The simulated processor did not answer in time.")
        if latency:
            time.sleep(latency)
        return result

    # --- records --------------------------------------------------------------------------
    @staticmethod
    def _recorded(reference: str) -> ProcessorResult | None:
        data = cache.get(_OP_KEY.format(reference))
        return ProcessorResult.from_dict(data) if data else None

    def _record(self, result: ProcessorResult, *, kind: str, amount: Money | None) -> ProcessorResult:
        # add(), not set(): if two calls with one reference race, the first record wins.
        if not cache.add(_OP_KEY.format(result.reference), result.as_dict(), timeout=STATE_TTL_SECONDS):
            return SimulatorProcessor._recorded(result.reference) or result
        now = timezone.now()
        day = now.date().isoformat()
        count_key = _REPORT_COUNT_KEY.format(self.settlement_file, day)
        cache.add(count_key, 0, timeout=STATE_TTL_SECONDS)
        line = {
            "reference": result.reference,
            "kind": kind,
            "amount": "" if amount is None else str(amount.amount),
            "currency": "" if amount is None else amount.currency.code,
            "status": result.status.value,
            "performed_at": now.isoformat(),
        }
        line_key = _REPORT_LINE_KEY.format(self.settlement_file, day, cache.incr(count_key))
        cache.set(line_key, line, timeout=STATE_TTL_SECONDS)
        return result

    @staticmethod
    def _auth(authorization: str) -> dict | None:
        return cache.get(_AUTH_KEY.format(authorization))

    @staticmethod
    def _auth_save(authorization: str, data: dict) -> None:
        cache.set(_AUTH_KEY.format(authorization), data, timeout=STATE_TTL_SECONDS)

    def _run(
        self, reference: str, timeout: float, act, *, kind: str, amount: Money | None = None
    ) -> ProcessorResult:
        self._before()
        existing = self._recorded(reference)
        result = existing or self._record(act(), kind=kind, amount=amount)
        return self._answer(result, timeout=timeout)

    @staticmethod
    def _declined(reference: str, code: str, authorization: str = "") -> ProcessorResult:
        return ProcessorResult(
            reference=reference,
            status=OperationStatus.DECLINED,
            authorization=authorization,
            decline_code=code,
            message=DECLINE_MESSAGES.get(code, "Your card was declined."),
        )

    # --- the interface --------------------------------------------------------------------
    def tokenize(self, *, card: CardData) -> str:
        behaviour = TEST_CARDS.get(card.number, APPROVE)
        return f"{TOKEN_PREFIX}:{behaviour}:{secrets.token_urlsafe(12)}"

    def authorize(self, *, reference: str, token: str, amount: Money, timeout: float) -> ProcessorResult:
        def act() -> ProcessorResult:
            behaviour = token_behaviour(token)
            if behaviour.startswith(DECLINE_PREFIX):
                return self._declined(reference, behaviour.removeprefix(DECLINE_PREFIX))
            authorization = f"simauth_{secrets.token_hex(10)}"
            state = "requires_action" if behaviour == ACTION_REQUIRED else "authorized"
            self._auth_save(
                authorization,
                {"behaviour": behaviour, "state": state, "amount": str(amount.amount), "captured": "0"},
            )
            if behaviour == ACTION_REQUIRED:
                return ProcessorResult(
                    reference=reference, status=OperationStatus.REQUIRES_ACTION, authorization=authorization
                )
            return ProcessorResult(
                reference=reference,
                status=OperationStatus.SUCCEEDED,
                authorization=authorization,
                risk_score=ELEVATED_RISK_SCORE if behaviour == ELEVATED_RISK else NORMAL_RISK_SCORE,
            )

        return self._run(reference, timeout, act, kind="authorize", amount=amount)

    def confirm(
        self, *, reference: str, authorization: str, challenge_passed: bool, timeout: float
    ) -> ProcessorResult:
        def act() -> ProcessorResult:
            auth = self._auth(authorization)
            if auth is None or auth["state"] != "requires_action":
                return self._declined(reference, "generic_decline", authorization)
            if not challenge_passed:
                auth["state"] = "failed"
                self._auth_save(authorization, auth)
                return self._declined(reference, "authentication_failed", authorization)
            auth["state"] = "authorized"
            self._auth_save(authorization, auth)
            return ProcessorResult(
                reference=reference,
                status=OperationStatus.SUCCEEDED,
                authorization=authorization,
                risk_score=NORMAL_RISK_SCORE,
            )

        return self._run(reference, timeout, act, kind="confirm")

    def capture(
        self, *, reference: str, authorization: str, amount: Money, timeout: float
    ) -> ProcessorResult:
        def act() -> ProcessorResult:
            auth = self._auth(authorization)
            if auth is None or auth["state"] != "authorized":
                return self._declined(reference, "generic_decline", authorization)
            auth["state"] = "captured"
            auth["captured"] = str(amount.amount)
            self._auth_save(authorization, auth)
            return ProcessorResult(
                reference=reference,
                status=OperationStatus.SUCCEEDED,
                authorization=authorization,
                dispute_reason=DISPUTE_REASON if auth["behaviour"] == DISPUTE else "",
            )

        return self._run(reference, timeout, act, kind="capture", amount=amount)

    def void(self, *, reference: str, authorization: str, timeout: float) -> ProcessorResult:
        def act() -> ProcessorResult:
            auth = self._auth(authorization)
            if auth is not None and auth["state"] in {"authorized", "requires_action"}:
                auth["state"] = "voided"
                self._auth_save(authorization, auth)
            # Voiding an unknown or already closed authorization is a no-op that succeeds.
            return ProcessorResult(
                reference=reference, status=OperationStatus.SUCCEEDED, authorization=authorization
            )

        return self._run(reference, timeout, act, kind="void")

    def refund(self, *, reference: str, authorization: str, amount: Money, timeout: float) -> ProcessorResult:
        def act() -> ProcessorResult:
            auth = self._auth(authorization)
            if auth is None or auth["state"] != "captured":
                return self._declined(reference, "generic_decline", authorization)
            return ProcessorResult(
                reference=reference, status=OperationStatus.SUCCEEDED, authorization=authorization
            )

        return self._run(reference, timeout, act, kind="refund", amount=amount)

    def status(self, *, reference: str, timeout: float) -> ProcessorResult | None:
        self._before()
        recorded = self._recorded(reference)
        if recorded is None:
            return None
        return self._answer(recorded, timeout=timeout)

    def settlement_report(self, *, date: date, timeout: float) -> list[ReportLine]:
        self._before()
        day = date.isoformat()
        count = cache.get(_REPORT_COUNT_KEY.format(self.settlement_file, day)) or 0
        keys = [_REPORT_LINE_KEY.format(self.settlement_file, day, number) for number in range(1, count + 1)]
        stored = cache.get_many(keys)
        return [
            ReportLine(
                reference=line["reference"],
                kind=line["kind"],
                amount=Decimal(line["amount"]) if line["amount"] else None,
                currency=line["currency"],
                status=OperationStatus(line["status"]),
                performed_at=datetime.fromisoformat(line["performed_at"]),
            )
            for line in (stored[key] for key in keys if key in stored)
        ]
