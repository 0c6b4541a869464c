"""Merchants with keys, and a JSON client speaking to the API in-process."""

import json
from dataclasses import dataclass

from django.test import Client

from merchants.services import api_key_create, merchant_activate, merchant_onboard


@dataclass
class Tenant:
    merchant_id: str
    secret: str
    read_secret: str
    # The same merchant's live-mode key: it sees none of the test-mode objects.
    live_secret: str


def tenant_create(name: str = "Shop", currency: str = "EUR") -> Tenant:
    merchant = merchant_onboard(name=name, email=f"{name.lower()}@example.com", default_currency=currency)
    merchant_activate(merchant_id=merchant.public_id)
    _key, secret = api_key_create(merchant_id=merchant.public_id)
    _key, read_secret = api_key_create(merchant_id=merchant.public_id, scope="read")
    _key, live_secret = api_key_create(merchant_id=merchant.public_id, mode="live")
    return Tenant(
        merchant_id=merchant.public_id, secret=secret, read_secret=read_secret, live_secret=live_secret
    )


class ApiClient:
    def __init__(self, secret: str | None) -> None:
        self.secret = secret
        self.client = Client(raise_request_exception=False)

    def _headers(self, extra: dict) -> dict:
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in extra.items()}
        if self.secret:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.secret}"
        return headers

    def get(self, path: str, **headers):
        return self.client.get(path, **self._headers(headers))

    def post(self, path: str, body: dict | None = None, **headers):
        return self.client.post(
            path,
            data=json.dumps(body if body is not None else {}),
            content_type="application/json",
            **self._headers(headers),
        )


TOP_UP_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


def funded_wallet(api: ApiClient, *, amount: int = 100_000, currency: str = "eur") -> dict:
    """A customer wallet funded the way money enters one: a card top-up. Returns the wallet as
    ``GET /v1/accounts/{id}`` shows it; its ``balance`` is the top-up's net."""
    wallet = api.post("/v1/accounts", {"currency": currency})
    assert wallet.status_code == 201, wallet.content
    top_up = api.post(
        "/v1/top_ups",
        {
            "account": wallet.json()["id"],
            "amount": amount,
            "currency": currency,
            "payment_method_data": {"type": "card", "card": TOP_UP_CARD},
        },
    )
    assert top_up.status_code == 201, top_up.content
    return api.get(f"/v1/accounts/{wallet.json()['id']}").json()
