import pytest
from django.core.cache import cache

from payments.processor import breaker, live_breaker
from tests.api.helpers import ApiClient, tenant_create
from tests.modes.live_processor import PATH, RecordingLiveProcessor

# Not a test card: a live card the live adapter approves.
LIVE_CARD = {"number": "4000056655665556", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
TEST_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


@pytest.fixture(autouse=True)
def _fresh_processor_state(settings):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    cache.clear()
    breaker.reset()
    live_breaker.reset()
    RecordingLiveProcessor.references = []
    yield
    breaker.reset()
    live_breaker.reset()


@pytest.fixture
def live_processor(settings):
    """Live mode with a configured live adapter (the recording stand-in)."""
    settings.PAYSYS_LIVE_PROCESSOR_BACKEND = PATH
    return RecordingLiveProcessor


@pytest.fixture
def shop(db):
    return tenant_create("Modes")


@pytest.fixture
def test_api(shop):
    return ApiClient(shop.secret)


@pytest.fixture
def live_api(shop):
    return ApiClient(shop.live_secret)


def pay(client: ApiClient, card: dict, *, amount: int = 5000, **extra):
    return client.post(
        "/v1/payments",
        {"amount": amount, "currency": "eur", "payment_method_data": {"type": "card", "card": card}, **extra},
    )
