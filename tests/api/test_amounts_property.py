"""Money at the API edge, as properties: minor units go in and come back unchanged, for
currencies with 0, 2 and 3 decimals, and the configured maximum is enforced per currency."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.helpers import ApiClient, tenant_create

pytestmark = pytest.mark.django_db

EXPONENTS = {"jpy": 0, "eur": 2, "kwd": 3}
PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def api(settings):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    return ApiClient(tenant_create("Prop").secret)


def _wallet(api, currency, **extra) -> str:
    response = api.post("/v1/accounts", {"currency": currency, **extra})
    assert response.status_code == 201, response.content
    return response.json()["id"]


@PROPERTY_SETTINGS
@given(currency=st.sampled_from(sorted(EXPONENTS)), data=st.data())
def test_transfer_amounts_round_trip_exactly_in_minor_units(api, settings, currency, data):
    maximum = settings.PAYSYS_MAX_AMOUNT_MAJOR * 10 ** EXPONENTS[currency]
    amount = data.draw(st.integers(min_value=1, max_value=maximum), label="amount")
    source, destination = _wallet(api, currency, allow_negative=True), _wallet(api, currency)
    body = {"from_account": source, "to_account": destination, "amount": amount, "currency": currency}
    transfer = api.post("/v1/transfers", body).json()
    assert (transfer["amount"], transfer["currency"]) == (amount, currency)
    assert api.get(f"/v1/accounts/{destination}").json()["balance"] == amount
    assert api.get(f"/v1/accounts/{source}").json()["balance"] == -amount
    [entry] = api.get(f"/v1/accounts/{source}/entries").json()["data"]
    assert (entry["amount"], entry["balance_after"]) == (-amount, -amount)


@PROPERTY_SETTINGS
@given(currency=st.sampled_from(sorted(EXPONENTS)), excess=st.integers(min_value=1, max_value=10**12))
def test_amounts_above_the_maximum_are_400_naming_amount(api, settings, currency, excess):
    maximum = settings.PAYSYS_MAX_AMOUNT_MAJOR * 10 ** EXPONENTS[currency]
    source, destination = _wallet(api, currency, allow_negative=True), _wallet(api, currency)
    body = {
        "from_account": source,
        "to_account": destination,
        "amount": maximum + excess,
        "currency": currency,
    }
    response = api.post("/v1/transfers", body)
    assert response.status_code == 400
    assert (response.json()["error"]["code"], response.json()["error"]["param"]) == (
        "amount_too_large",
        "amount",
    )
