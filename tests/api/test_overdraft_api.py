"""A merchant cannot create money: ``allow_negative`` is shown, never set, through the API, and a
wallet an operator allowed to go negative funds neither the merchant's balance nor a payment."""

import pytest

from accounts.models import Entry, Hold, LedgerAccount
from accounts.overdraft import account_overdraft_set
from accounts.selectors import account_get
from payments.models import Payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def negative_wallet(api):
    wallet = api.post("/v1/accounts", {"currency": "eur"}).json()["id"]
    account_overdraft_set(account_id=wallet, allow_negative=True, reason="credit line", operator_id="1")
    return wallet


def available_account(api) -> str:
    return api.get("/v1/accounts?kind=available&currency=eur").json()["data"][0]["id"]


def ledger_state():
    return (
        Entry.objects.count(),
        Hold.objects.count(),
        sorted(
            (a.pk, a.posted, a.pending)
            for a in (account_get(account_id=x.pk) for x in LedgerAccount.objects.all())
        ),
    )


@pytest.mark.parametrize("value", [True, False, "yes", None])
def test_allow_negative_is_never_settable_when_opening_a_wallet(api, value):
    response = api.post("/v1/accounts", {"currency": "eur", "allow_negative": value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "parameter_not_settable",
        "allow_negative",
    )
    assert not LedgerAccount.objects.filter(kind="wallet").exists()


def test_allow_negative_is_refused_by_every_write_endpoint(api, negative_wallet):
    bodies = {
        "/v1/transfers": {"from_account": negative_wallet, "to_account": available_account(api), "amount": 1},
        "/v1/payments": {"amount": 100, "currency": "eur", "source_account": negative_wallet},
        "/v1/top_ups": {"account": negative_wallet, "amount": 100, "currency": "eur"},
    }
    for path, body in bodies.items():
        response = api.post(path, {**body, "currency": "eur", "allow_negative": True})
        assert response.status_code == 400, path
        assert response.json()["error"]["param"] == "allow_negative"


def test_a_wallet_shows_the_operators_overdraft_decision(api, negative_wallet):
    assert api.get(f"/v1/accounts/{negative_wallet}").json()["allow_negative"] is True


def test_a_negative_wallet_cannot_transfer_into_the_merchants_available_balance(api, negative_wallet):
    available = available_account(api)
    before = ledger_state()
    response = api.post(
        "/v1/transfers",
        {"from_account": negative_wallet, "to_account": available, "amount": 100000, "currency": "eur"},
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("overdraft_not_transferable", "from_account")
    assert ledger_state() == before
    assert api.get(f"/v1/accounts/{available}").json()["balance"] == 0


def test_a_negative_wallet_cannot_launder_through_another_wallet(api, negative_wallet):
    other = api.post("/v1/accounts", {"currency": "eur"}).json()["id"]
    before = ledger_state()
    response = api.post(
        "/v1/transfers",
        {"from_account": negative_wallet, "to_account": other, "amount": 5000, "currency": "eur"},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "overdraft_not_transferable"
    assert ledger_state() == before


def test_a_negative_wallet_cannot_pay_the_merchant(api, negative_wallet):
    before = ledger_state()
    response = api.post(
        "/v1/payments", {"amount": 100000, "currency": "eur", "source_account": negative_wallet}
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("overdraft_not_transferable", "source_account")
    assert ledger_state() == before
    assert not Payment.objects.exists()
