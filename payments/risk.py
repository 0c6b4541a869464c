"""Risk: merchant limits (hard rules) and a score (soft rules) that sends a payment to review.

Hard rules, checked before anything is sent to the processor, fail the request with a 400
naming ``amount``: the merchant's maximum payment amount and daily volume per currency
(``merchants.selectors.merchant_limits_get``). The daily volume counts today's (UTC) payments
that are not failed or canceled; the check runs under a lock on the merchant's limit row,
so two concurrent payments cannot both squeeze under the limit (only merchants with a daily
limit pay for that lock).

Soft rules add up to a score from 0 to 100:

* a blocklisted card fingerprint, IP address or e-mail (``BlocklistEntry``): ``BLOCKLIST_POINTS``;
* velocity: more than ``PAYSYS_RISK_VELOCITY_CARD_MAX`` attempts with one card fingerprint, or
  ``PAYSYS_RISK_VELOCITY_IP_MAX`` from one IP, at one merchant in a fixed window of
  ``PAYSYS_RISK_VELOCITY_WINDOW_S`` seconds (Redis counters through the cache: ``INCR`` on a
  key per window, expiring with it). Counted per merchant: a card tested against one shop
  is that shop's signal, and one merchant's traffic never pushes another's customers to review;
* the network's own signal from the authorization (``ProcessorResult.risk_score``).

A payment scoring ``PAYSYS_RISK_REVIEW_THRESHOLD`` or more waits in ``requires_review`` once
authorized; an operator approves (capture proceeds) or declines (the authorization is voided).
"""

import ipaddress
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from moneyed import Money

from merchants.models import Merchant, MerchantLimit
from merchants.selectors import merchant_limits_get
from payments.cards import FINGERPRINT_HEX_LENGTH, FINGERPRINT_PATTERN
from payments.models import BlocklistEntry, Payment
from payments.persistence import blocklist_matches
from paysys.errors import InvalidRequestError

BLOCKLIST_POINTS = 100
# A card tried too often is enough for review; a busy IP (a shared NAT) only adds to other signals.
CARD_VELOCITY_POINTS = 80
IP_VELOCITY_POINTS = 40
MAX_SCORE = 100
_VELOCITY_KEY = "paysys:risk:velocity:{merchant}:{mode}:{kind}:{value}:{window}"


class MerchantLimitError(InvalidRequestError):
    default_code = "amount_over_limit"


@dataclass(frozen=True)
class RiskSignals:
    fingerprint: str = ""
    ip: str = ""
    email: str = ""


@dataclass
class RiskAssessment:
    score: int = 0
    reasons: list[str] = field(default_factory=list)

    def add(self, points: int, reason: str) -> None:
        self.score = min(MAX_SCORE, self.score + points)
        self.reasons.append(reason)

    @property
    def needs_review(self) -> bool:
        return self.score >= settings.PAYSYS_RISK_REVIEW_THRESHOLD


def risk_limits_check(*, merchant: Merchant, amount: Money, livemode: bool = False) -> None:
    """Enforce the merchant's max amount and daily volume (of the payment's mode: test payments
    never use up live volume); call inside the creating transaction."""
    currency = amount.currency.code
    limits = merchant_limits_get(merchant=merchant, currency=currency)
    if limits.max_payment is not None and amount > limits.max_payment:
        raise MerchantLimitError(
            f"The amount exceeds this merchant's maximum payment of {limits.max_payment}.",
            code="amount_over_limit",
            param="amount",
        )
    if limits.daily_volume is None:
        return
    # Serializes this merchant's payments in this currency for the rest of the transaction.
    list(
        MerchantLimit.objects.select_for_update()
        .filter(merchant=merchant, currency=currency)
        .values_list("pk", flat=True)
    )
    start_of_day = datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    today = (
        Payment.objects.filter(
            merchant=merchant, livemode=livemode, currency=currency, created__gte=start_of_day
        )
        .exclude(status__in=["failed", "canceled"])
        .aggregate(total=Sum("amount"))["total"]
        or 0
    )
    if today + amount.amount > limits.daily_volume.amount:
        raise MerchantLimitError(
            f"The amount exceeds this merchant's remaining daily volume of {limits.daily_volume}.",
            code="daily_volume_exceeded",
            param="amount",
        )


def _velocity_count(merchant_id: str, livemode: bool, kind: str, value: str) -> int:
    """Count one attempt in the current window of the merchant's mode: two cache round trips, the
    window's first or not. Test traffic never counts against live payments, nor the reverse."""
    window = int(settings.PAYSYS_RISK_VELOCITY_WINDOW_S)
    key = _VELOCITY_KEY.format(
        merchant=merchant_id,
        mode="live" if livemode else "test",
        kind=kind,
        value=value,
        window=int(time.time()) // window,
    )
    for _ in range(2):
        try:
            return cache.incr(key)
        except ValueError:  # the window's first attempt; or a concurrent one opened it first
            if cache.add(key, 1, timeout=window):
                return 1
    return 1  # the key expired between add() and incr() twice over: count this attempt alone


def _email_normalize(email: str) -> str:
    return email.strip().lower()


def blocklist_value_normalize(*, kind: str, value: str) -> str:
    """A blocklist value as risk compares it with a payment's signal: an e-mail trimmed and
    lower-cased, as the payment's receipt e-mail is; an IP address in the canonical text
    ``paysys.client_ip`` gives (``2001:DB8::0:1`` is ``2001:db8::1``); a card fingerprint as the
    lower-case hex ``payments.cards`` computes. A value risk could never match is refused."""
    value = value.strip()
    if kind == BlocklistEntry.Kind.EMAIL:
        normalized = _email_normalize(value)
        if "@" not in normalized.strip("@"):
            raise InvalidRequestError(f"{value!r} is not an e-mail address.", param="value")
        return normalized
    if kind == BlocklistEntry.Kind.IP:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise InvalidRequestError(f"{value!r} is not an IP address.", param="value") from None
    if kind == BlocklistEntry.Kind.FINGERPRINT:
        normalized = value.lower()
        if not FINGERPRINT_PATTERN.fullmatch(normalized):
            raise InvalidRequestError(
                f"A card fingerprint is {FINGERPRINT_HEX_LENGTH} hexadecimal characters.", param="value"
            )
        return normalized
    raise InvalidRequestError(f"No such blocklist kind: {kind!r}.", param="kind")


def risk_blocklisted(*, signals: RiskSignals) -> list[str]:
    email = _email_normalize(signals.email)
    if not (signals.fingerprint or signals.ip or email):
        return []
    rows = blocklist_matches(fingerprint=signals.fingerprint, ip=signals.ip, email=email)
    return sorted(f"blocklisted_{row.kind}" for row in rows if row.value)


def risk_assess(
    *, merchant_id: str, livemode: bool, signals: RiskSignals, network_score: int = 0
) -> RiskAssessment:
    """Score an attempt; counts it in the velocity windows as a side effect (an attempt is an attempt)."""
    assessment = RiskAssessment()
    for reason in risk_blocklisted(signals=signals):
        assessment.add(BLOCKLIST_POINTS, reason)
    card_max, ip_max = settings.PAYSYS_RISK_VELOCITY_CARD_MAX, settings.PAYSYS_RISK_VELOCITY_IP_MAX
    if signals.fingerprint and _velocity_count(merchant_id, livemode, "card", signals.fingerprint) > card_max:
        assessment.add(CARD_VELOCITY_POINTS, "card_velocity")
    if signals.ip and _velocity_count(merchant_id, livemode, "ip", signals.ip) > ip_max:
        assessment.add(IP_VELOCITY_POINTS, "ip_velocity")
    if network_score:
        assessment.add(network_score, "network_score")
    return assessment
