"""Money at the API edge, as properties: minor units go in and come back unchanged, for
currencies with 0, 2 and 3 decimals, and the configured maximum is enforced per currency."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.helpers import ApiClient, funded_wallet, tenant_create

pytestmark = pytest.mark.django_db

EXPONENTS = {"jpy": 0, "eur": 2, "kwd": 3}
PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def api(settings):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    # Every example tops a wallet up with the same card: no velocity review for this merchant.
    settings.PAYSYS_RISK_VELOCITY_CARD_MAX = settings.PAYSYS_RISK_VELOCITY_IP_MAX = 10**6
    return ApiClient(tenant_create("Prop").secret)


def _wallet(api, currency, **extra) -> str:
    response = api.post("/v1/accounts", {"currency": currency, **extra})
    assert response.status_code == 201, response.content
    return response.json()["id"]


@PROPERTY_SETTINGS
@given(currency=st.sampled_from(sorted(EXPONENTS)), data=st.data())
def test_transfer_amounts_round_trip_exactly_in_minor_units(api, settings, currency, data):
    maximum = settings.PAYSYS_MAX_AMOUNT_MAJOR * 10 ** EXPONENTS[currency]
    # Funded as money enters a wallet: a top-up of the maximum, which leaves its net.
    funded = funded_wallet(api, amount=maximum, currency=currency)
    source, destination = funded["id"], _wallet(api, currency)
    amount = data.draw(st.integers(min_value=1, max_value=funded["balance"]), label="amount")
    body = {"from_account": source, "to_account": destination, "amount": amount, "currency": currency}
    transfer = api.post("/v1/transfers", body).json()
    assert (transfer["amount"], transfer["currency"]) == (amount, currency)
    assert api.get(f"/v1/accounts/{destination}").json()["balance"] == amount
    assert api.get(f"/v1/accounts/{source}").json()["balance"] == funded["balance"] - amount
    entry = api.get(f"/v1/accounts/{source}/entries").json()["data"][0]
    assert (entry["amount"], entry["balance_after"]) == (-amount, funded["balance"] - amount)


@PROPERTY_SETTINGS
@given(currency=st.sampled_from(sorted(EXPONENTS)), excess=st.integers(min_value=1, max_value=10**12))
def test_amounts_above_the_maximum_are_400_naming_amount(api, settings, currency, excess):
    maximum = settings.PAYSYS_MAX_AMOUNT_MAJOR * 10 ** EXPONENTS[currency]
    source, destination = _wallet(api, currency), _wallet(api, currency)
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
