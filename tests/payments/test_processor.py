import pytest
from moneyed import Money

from payments.cards import CardData
from payments.processor import (
    OperationStatus,
    ProcessorTimeoutError,
    ProcessorUnavailableError,
    breaker,
    processor_call,
    processor_get,
)
from payments.processor.simulator import DECLINE_PREFIX, TEST_CARDS

AMOUNT = Money("10.00", "EUR")


def _token(number: str) -> str:
    return processor_get().tokenize(card=CardData(number=number, exp_month=12, exp_year=2030, cvc="123"))


def test_token_carries_the_behaviour_never_the_number():
    for number in TEST_CARDS:
        token = _token(number)
        assert number not in token
        assert token.split(":")[1] == TEST_CARDS[number]


@pytest.mark.parametrize("number", [n for n, b in TEST_CARDS.items() if b.startswith(DECLINE_PREFIX)])
def test_declining_cards_are_declined_with_their_code(number):
    result = processor_call("authorize", reference=f"t:{number}", token=_token(number), amount=AMOUNT)
    assert result.status == OperationStatus.DECLINED
    assert result.decline_code == TEST_CARDS[number].removeprefix(DECLINE_PREFIX)


def test_success_card_authorizes_captures_and_refunds():
    auth = processor_call("authorize", reference="t:a", token=_token("4242424242424242"), amount=AMOUNT)
    assert auth.succeeded and auth.authorization
    capture = processor_call("capture", reference="t:c", authorization=auth.authorization, amount=AMOUNT)
    assert capture.succeeded and not capture.dispute_reason
    refund = processor_call("refund", reference="t:r", authorization=auth.authorization, amount=AMOUNT)
    assert refund.succeeded


def test_action_card_needs_the_challenge_and_a_failed_challenge_declines():
    auth = processor_call("authorize", reference="t:a1", token=_token("4000000000003220"), amount=AMOUNT)
    assert auth.status == OperationStatus.REQUIRES_ACTION
    failed = processor_call(
        "confirm", reference="t:f", authorization=auth.authorization, challenge_passed=False
    )
    assert failed.decline_code == "authentication_failed"
    auth2 = processor_call("authorize", reference="t:a2", token=_token("4000000000003220"), amount=AMOUNT)
    passed = processor_call(
        "confirm", reference="t:p", authorization=auth2.authorization, challenge_passed=True
    )
    assert passed.succeeded


def test_dispute_card_reports_a_dispute_on_capture():
    auth = processor_call("authorize", reference="t:d", token=_token("4000000000000259"), amount=AMOUNT)
    capture = processor_call("capture", reference="t:dc", authorization=auth.authorization, amount=AMOUNT)
    assert capture.succeeded and capture.dispute_reason == "fraudulent"


def test_risky_card_carries_an_elevated_network_score():
    auth = processor_call("authorize", reference="t:r1", token=_token("4100000000000019"), amount=AMOUNT)
    normal = processor_call("authorize", reference="t:r2", token=_token("4242424242424242"), amount=AMOUNT)
    assert auth.succeeded and auth.risk_score > normal.risk_score


def test_repeated_reference_answers_the_first_result_and_acts_once():
    token = _token("4242424242424242")
    first = processor_call("authorize", reference="t:same", token=token, amount=AMOUNT)
    second = processor_call("authorize", reference="t:same", token=token, amount=AMOUNT)
    assert first == second


def test_lost_answer_is_recorded_and_status_tells_it_later(settings):
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 1.0
    with pytest.raises(ProcessorTimeoutError):
        processor_call("authorize", reference="t:lost", token=_token("4242424242424242"), amount=AMOUNT)
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.0
    answer = processor_call("status", reference="t:lost")
    assert answer is not None and answer.succeeded
    assert processor_call("status", reference="t:never-sent") is None


def test_latency_above_the_timeout_is_a_timeout(settings):
    settings.PAYSYS_PROCESSOR_SIMULATOR_LATENCY_MS = 50
    settings.PAYSYS_PROCESSOR_TIMEOUT_MS = 20
    with pytest.raises(ProcessorTimeoutError):
        processor_call("authorize", reference="t:slow", token=_token("4242424242424242"), amount=AMOUNT)


def test_refused_call_is_not_recorded(settings):
    settings.PAYSYS_PROCESSOR_SIMULATOR_FAILURE_RATE = 1.0
    with pytest.raises(ProcessorUnavailableError):
        processor_call("authorize", reference="t:refused", token=_token("4242424242424242"), amount=AMOUNT)
    settings.PAYSYS_PROCESSOR_SIMULATOR_FAILURE_RATE = 0.0
    assert processor_call("status", reference="t:refused") is None


def test_breaker_opens_after_threshold_then_lets_one_probe_through(settings, monkeypatch):
    settings.PAYSYS_PROCESSOR_BREAKER_THRESHOLD = 3
    settings.PAYSYS_PROCESSOR_SIMULATOR_FAILURE_RATE = 1.0
    token = _token("4242424242424242")
    for i in range(3):
        with pytest.raises(ProcessorUnavailableError):
            processor_call("authorize", reference=f"t:b{i}", token=token, amount=AMOUNT)
    assert breaker.state() == "open"
    settings.PAYSYS_PROCESSOR_SIMULATOR_FAILURE_RATE = 0.0
    with pytest.raises(ProcessorUnavailableError, match="circuit breaker"):
        processor_call("authorize", reference="t:b-open", token=token, amount=AMOUNT)
    settings.PAYSYS_PROCESSOR_BREAKER_COOLDOWN_S = 60
    assert breaker.state() == "open"
    # After the cooldown one probe passes and closes the breaker.
    settings.PAYSYS_PROCESSOR_BREAKER_COOLDOWN_S = 0
    result = processor_call("authorize", reference="t:b-probe", token=token, amount=AMOUNT)
    assert result.succeeded
    assert breaker.state() == "closed"


def test_failed_probe_opens_the_breaker_again(settings):
    settings.PAYSYS_PROCESSOR_BREAKER_THRESHOLD = 1
    settings.PAYSYS_PROCESSOR_SIMULATOR_FAILURE_RATE = 1.0
    token = _token("4242424242424242")
    with pytest.raises(ProcessorUnavailableError):
        processor_call("authorize", reference="t:p1", token=token, amount=AMOUNT)
    settings.PAYSYS_PROCESSOR_BREAKER_COOLDOWN_S = 0
    with pytest.raises(ProcessorUnavailableError):
        processor_call("authorize", reference="t:p2", token=token, amount=AMOUNT)
    settings.PAYSYS_PROCESSOR_BREAKER_COOLDOWN_S = 60
    assert breaker.state() == "open"


def test_declines_do_not_trip_the_breaker(settings):
    settings.PAYSYS_PROCESSOR_BREAKER_THRESHOLD = 2
    token = _token("4000000000000002")
    for i in range(4):
        processor_call("authorize", reference=f"t:dec{i}", token=token, amount=AMOUNT)
    assert breaker.state() == "closed"
