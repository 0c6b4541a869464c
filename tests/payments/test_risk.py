import threading
from concurrent.futures import ThreadPoolExecutor

from moneyed import Money

from payments.models import BlocklistEntry
from payments.risk import RiskSignals, _velocity_count, risk_assess, risk_blocklisted
from payments.services import payment_create
from tests.payments.conftest import card

EUR10 = Money("10.00", "EUR")


def test_blocklisted_fingerprint_ip_or_email_sends_the_payment_to_review(merchant):
    from payments.cards import card_fingerprint

    BlocklistEntry.objects.create(kind="fingerprint", value=card_fingerprint("5555555555554444"))
    BlocklistEntry.objects.create(kind="ip", value="203.0.113.9")
    BlocklistEntry.objects.create(kind="email", value="fraud@example.com")
    by_card = payment_create(merchant=merchant, amount=EUR10, card=card("5555555555554444"))
    by_ip = payment_create(merchant=merchant, amount=EUR10, card=card(), ip="203.0.113.9")
    by_email = payment_create(merchant=merchant, amount=EUR10, card=card(), receipt_email="Fraud@example.com")
    clean = payment_create(merchant=merchant, amount=EUR10, card=card(), ip="198.51.100.1")
    assert [p.status for p in (by_card, by_ip, by_email)] == ["requires_review"] * 3
    assert "blocklisted_fingerprint" in by_card.risk_reasons
    assert clean.status == "succeeded"


def test_a_blocklisted_value_matches_only_its_own_kind(db):
    BlocklistEntry.objects.create(kind="ip", value="203.0.113.7")
    BlocklistEntry.objects.create(kind="email", value="fraud@example.com")
    BlocklistEntry.objects.create(kind="fingerprint", value="fp-1")
    assert risk_blocklisted(signals=RiskSignals(fingerprint="203.0.113.7", email="fp-1")) == []
    assert risk_blocklisted(signals=RiskSignals(ip="203.0.113.7")) == ["blocklisted_ip"]
    everything = RiskSignals(fingerprint="fp-1", ip="203.0.113.7", email="FRAUD@example.com")
    assert risk_blocklisted(signals=everything) == [
        "blocklisted_email",
        "blocklisted_fingerprint",
        "blocklisted_ip",
    ]
    assert risk_blocklisted(signals=RiskSignals()) == []


def test_card_velocity_over_the_threshold_goes_to_review(merchant, settings):
    settings.PAYSYS_RISK_VELOCITY_CARD_MAX = 2
    statuses = [payment_create(merchant=merchant, amount=EUR10, card=card()).status for _ in range(3)]
    assert statuses == ["succeeded", "succeeded", "requires_review"]


def test_ip_velocity_is_counted_per_merchant(merchant_factory, settings):
    settings.PAYSYS_RISK_VELOCITY_IP_MAX = 1
    settings.PAYSYS_RISK_VELOCITY_CARD_MAX = 100
    one, other = merchant_factory(), merchant_factory()
    ip = RiskSignals(ip="192.0.2.1")
    assert risk_assess(merchant_id=one.public_id, livemode=False, signals=ip).score == 0
    assert risk_assess(merchant_id=other.public_id, livemode=False, signals=ip).score == 0
    second = risk_assess(merchant_id=one.public_id, livemode=False, signals=ip)
    assert second.reasons == ["ip_velocity"] and not second.needs_review


def test_velocity_is_counted_per_mode(merchant, settings):
    """A burst of test-mode attempts does not push the merchant's live payments into review."""
    settings.PAYSYS_RISK_VELOCITY_IP_MAX = 1
    settings.PAYSYS_RISK_VELOCITY_CARD_MAX = 1
    signals = RiskSignals(ip="192.0.2.9", fingerprint="fp-modes")
    for _ in range(3):
        risk_assess(merchant_id=merchant.public_id, livemode=False, signals=signals)
    live = risk_assess(merchant_id=merchant.public_id, livemode=True, signals=signals)
    assert live.score == 0 and live.reasons == []
    again = risk_assess(merchant_id=merchant.public_id, livemode=True, signals=signals)
    assert sorted(again.reasons) == ["card_velocity", "ip_velocity"]


def test_concurrent_attempts_in_a_new_window_are_each_counted_once(settings):
    """Threads with their own Redis connections race to open one window: counts are 1..N."""
    settings.PAYSYS_RISK_VELOCITY_WINDOW_S = 3600
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)

    def attempts(_: int) -> list[int]:
        barrier.wait()
        return [_velocity_count("mer_race", False, "card", "fp-race") for _ in range(per_thread)]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        seen = [count for counts in pool.map(attempts, range(threads)) for count in counts]
    assert sorted(seen) == list(range(1, threads * per_thread + 1))


def test_network_score_alone_reaches_review_for_the_risky_test_card(merchant):
    payment = payment_create(merchant=merchant, amount=EUR10, card=card("4100000000000019"))
    assert payment.status == "requires_review" and payment.risk_score >= 75
