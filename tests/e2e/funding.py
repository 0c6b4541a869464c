"""Wallets funded over HTTP the way money enters one: a card top-up (``POST /v1/top_ups``)."""

import httpx

TOP_UP_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


def top_up(client: httpx.Client, account: str, *, amount: int = 100_000) -> dict:
    response = client.post(
        "/v1/top_ups",
        json={
            "account": account,
            "amount": amount,
            "currency": "eur",
            "payment_method_data": {"type": "card", "card": TOP_UP_CARD},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def funded_wallet(client: httpx.Client, *, amount: int = 100_000) -> str:
    """A new EUR wallet holding the net of a card top-up of ``amount``; its id."""
    response = client.post("/v1/accounts", json={"currency": "eur"})
    assert response.status_code == 201, response.text
    wallet = response.json()["id"]
    top_up(client, wallet, amount=amount)
    return wallet
