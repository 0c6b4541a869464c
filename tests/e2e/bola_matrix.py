"""The BOLA matrix: every authenticated /v1/ route and method, as data.

``tests/e2e/test_bola.py`` walks it against a live server with two merchants: A creates
objects through the API, B calls every route with A's ids and must get a 404 whose body is the
one an unknown id gets (same type, code, param and message), and nothing of A's changes; then
A calls every route itself and gets ``owner_status``. A meta-test fails when a URL pattern
under ``/v1/`` exists (or a method of its view) that this matrix does not cover.

How to add your routes (payments, refunds, events, webhook endpoints, settlements, ...):

1. If a route needs an object of merchant A, add a factory to ``FACTORIES``: a function taking
   an ``httpx.Client`` authenticated as A (and the dict of ids made so far) and returning the new
   object's id, created through the API (or a service for objects merchants cannot create,
   such as disputes or settlements). Its key is the placeholder name used in paths and bodies
   (``{payment}``). A factory may use earlier ones' ids (dict order is creation order).
2. Append one ``Case`` per (route, method) to ``CASES``. ``route`` is the Django route exactly as
   the resolver spells it (``v1/payments/<str:payment_id>/capture``); ``path`` and string
   values of ``body`` may use ``{placeholder}``\\ s; ``owner_status`` is what A gets.
   Cases run in list order for A, so put destructive ones (cancel, reverse, DELETE) after the
   reads of the same object, or give them an object of their own.
3. Routes without authentication go into ``PUBLIC_ROUTES``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from django.utils import timezone

from settlements.services import settlement_run
from tests.e2e.funding import TOP_UP_CARD, funded_wallet, top_up

Factory = Callable[[httpx.Client, dict[str, str]], str]


@dataclass(frozen=True)
class Case:
    route: str
    method: str
    path: str
    owner_status: int
    body: dict | None = None
    # Placeholders whose ids identify the object: B's call with them must be a 404. A case
    # without one (a collection) is checked for not leaking A's objects instead.
    targets: tuple[str, ...] = field(default=())


PUBLIC_ROUTES = {"v1/schema/", "v1/docs/", "v1/bench/noop"}


def _wallet(client: httpx.Client, ids: dict[str, str]) -> str:
    response = client.post("/v1/accounts", json={"currency": "eur"})
    response.raise_for_status()
    return response.json()["id"]


def _transfer(client: httpx.Client, ids: dict[str, str]) -> str:
    response = client.post(
        "/v1/transfers",
        json={
            "from_account": ids["funding"],
            "to_account": ids["account"],
            "amount": 1000,
            "currency": "eur",
        },
    )
    response.raise_for_status()
    return response.json()["id"]


def _created(response: httpx.Response) -> str:
    assert response.status_code in (200, 201), response.text
    return response.json()["id"]


# A public address literal: webhook URLs must not resolve to private ones, and no DNS is needed.
WEBHOOK_URL = "https://93.184.215.14/hooks"


def _first_id(client: httpx.Client, path: str) -> str:
    response = client.get(path)
    response.raise_for_status()
    return response.json()["data"][0]["id"]


def _webhook_endpoint(client: httpx.Client, ids: dict[str, str]) -> str:
    return _created(client.post("/v1/webhook_endpoints", json={"url": WEBHOOK_URL, "enabled_events": ["*"]}))


FACTORIES: dict[str, Factory] = {
    # ledger
    "funding": lambda c, ids: funded_wallet(c),
    "account": _wallet,
    "top_up": lambda c, ids: top_up(c, ids["account"], amount=1000)["id"],
    "transfer": _transfer,
    "transfer_to_reverse": _transfer,
    # events and webhooks
    "event": lambda c, ids: _first_id(c, "/v1/events"),
    "webhook_endpoint": _webhook_endpoint,
    "webhook_endpoint_to_delete": _webhook_endpoint,
}


def _transfer_body(source: str, destination: str) -> dict:
    return {"from_account": source, "to_account": destination, "amount": 1, "currency": "eur"}


CASES: list[Case] = [
    # --- ledger (accounts/api) ---------------------------------------------------------------
    Case("v1/accounts", "GET", "/v1/accounts", 200),
    Case("v1/accounts", "POST", "/v1/accounts", 201, body={"currency": "eur"}),
    Case("v1/accounts/<str:account_id>", "GET", "/v1/accounts/{account}", 200, targets=("account",)),
    Case(
        "v1/accounts/<str:account_id>/entries",
        "GET",
        "/v1/accounts/{account}/entries",
        200,
        targets=("account",),
    ),
    Case("v1/transfers", "GET", "/v1/transfers", 200),
    Case(
        "v1/transfers",
        "POST",
        "/v1/transfers",
        201,
        body=_transfer_body("{funding}", "{account}"),
        targets=("funding", "account"),
    ),
    Case("v1/transfers/<str:transfer_id>", "GET", "/v1/transfers/{transfer}", 200, targets=("transfer",)),
    Case(
        "v1/transfers/<str:transfer_id>/reverse",
        "POST",
        "/v1/transfers/{transfer_to_reverse}/reverse",
        200,
        targets=("transfer_to_reverse",),
    ),
    Case("v1/top_ups", "GET", "/v1/top_ups", 200),
    Case(
        "v1/top_ups",
        "POST",
        "/v1/top_ups",
        201,
        body={
            "account": "{account}",
            "amount": 500,
            "currency": "eur",
            "payment_method_data": {"type": "card", "card": TOP_UP_CARD},
        },
        targets=("account",),
    ),
    Case("v1/top_ups/<str:top_up_id>", "GET", "/v1/top_ups/{top_up}", 200, targets=("top_up",)),
    Case("v1/balance", "GET", "/v1/balance", 200),
    Case("v1/balance_transactions", "GET", "/v1/balance_transactions", 200),
    # --- events and webhook endpoints (paysys/events/api) ------------------------------------
    Case("v1/events", "GET", "/v1/events", 200),
    Case("v1/events/<str:event_id>", "GET", "/v1/events/{event}", 200, targets=("event",)),
    Case(
        "v1/events/<str:event_id>/resend",
        "POST",
        "/v1/events/{event}/resend",
        200,
        body={},
        targets=("event",),
    ),
    Case("v1/webhook_endpoints", "GET", "/v1/webhook_endpoints", 200),
    Case(
        "v1/webhook_endpoints",
        "POST",
        "/v1/webhook_endpoints",
        201,
        body={"url": WEBHOOK_URL, "enabled_events": ["*"]},
    ),
    Case(
        "v1/webhook_endpoints/<str:endpoint_id>",
        "GET",
        "/v1/webhook_endpoints/{webhook_endpoint}",
        200,
        targets=("webhook_endpoint",),
    ),
    Case(
        "v1/webhook_endpoints/<str:endpoint_id>",
        "PATCH",
        "/v1/webhook_endpoints/{webhook_endpoint}",
        200,
        body={"enabled_events": ["payment.succeeded"]},
        targets=("webhook_endpoint",),
    ),
    Case(
        "v1/webhook_endpoints/<str:endpoint_id>/deliveries",
        "GET",
        "/v1/webhook_endpoints/{webhook_endpoint}/deliveries",
        200,
        targets=("webhook_endpoint",),
    ),
    Case(
        "v1/webhook_endpoints/<str:endpoint_id>/rotate_secret",
        "POST",
        "/v1/webhook_endpoints/{webhook_endpoint}/rotate_secret",
        200,
        body={},
        targets=("webhook_endpoint",),
    ),
    Case(
        "v1/webhook_endpoints/<str:endpoint_id>",
        "DELETE",
        "/v1/webhook_endpoints/{webhook_endpoint_to_delete}",
        200,
        targets=("webhook_endpoint_to_delete",),
    ),
]


# --- payments (payments/api) -------------------------------------------------------------------

_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


def _payment(
    client: httpx.Client,
    ids: dict[str, str],
    *,
    number: str = "4242424242424242",
    amount: int = 1000,
    capture_method: str = "automatic",
) -> str:
    card = {**_CARD, "number": number}
    response = client.post(
        "/v1/payments",
        json={
            "amount": amount,
            "currency": "eur",
            "capture_method": capture_method,
            "payment_method_data": {"type": "card", "card": card},
        },
    )
    response.raise_for_status()
    return response.json()["id"]


def _payment_method(client: httpx.Client, ids: dict[str, str]) -> str:
    response = client.post("/v1/payment_methods", json={"type": "card", "card": _CARD})
    response.raise_for_status()
    return response.json()["id"]


def _refund(client: httpx.Client, ids: dict[str, str]) -> str:
    response = client.post("/v1/refunds", json={"payment": ids["payment"], "amount": 100})
    response.raise_for_status()
    return response.json()["id"]


def _dispute(client: httpx.Client, ids: dict[str, str]) -> str:
    # The dispute test card is disputed by the network right after capture.
    payment = _payment(client, ids, number="4000000000000259")
    response = client.get("/v1/disputes", params={"payment": payment})
    response.raise_for_status()
    return response.json()["data"][0]["id"]


FACTORIES.update(
    {
        "pm": _payment_method,
        # Large enough that the dispute fee below leaves A the balance for its own refund case.
        "payment": lambda c, ids: _payment(c, ids, amount=5000),
        "payment_manual": lambda c, ids: _payment(c, ids, capture_method="manual"),
        "payment_to_cancel": lambda c, ids: _payment(c, ids, capture_method="manual"),
        "payment_action": lambda c, ids: _payment(c, ids, number="4000000000003220"),
        "refund": _refund,
        "dispute": _dispute,
    }
)

CASES += [
    Case("v1/payment_methods", "POST", "/v1/payment_methods", 201, body={"type": "card", "card": _CARD}),
    Case("v1/payments", "GET", "/v1/payments", 200),
    Case(
        "v1/payments",
        "POST",
        "/v1/payments",
        201,
        body={"amount": 500, "currency": "eur", "payment_method": "{pm}"},
        targets=("pm",),
    ),
    Case("v1/payments/<str:payment_id>", "GET", "/v1/payments/{payment}", 200, targets=("payment",)),
    Case(
        "v1/payments/<str:payment_id>/capture",
        "POST",
        "/v1/payments/{payment_manual}/capture",
        200,
        body={"amount": 500},
        targets=("payment_manual",),
    ),
    Case(
        "v1/payments/<str:payment_id>/confirm",
        "POST",
        "/v1/payments/{payment_action}/confirm",
        200,
        body={"challenge": "pass"},
        targets=("payment_action",),
    ),
    Case(
        "v1/payments/<str:payment_id>/cancel",
        "POST",
        "/v1/payments/{payment_to_cancel}/cancel",
        200,
        body={},
        targets=("payment_to_cancel",),
    ),
    Case("v1/refunds", "GET", "/v1/refunds", 200),
    Case(
        "v1/refunds",
        "POST",
        "/v1/refunds",
        201,
        body={"payment": "{payment}", "amount": 100},
        targets=("payment",),
    ),
    Case("v1/refunds/<str:refund_id>", "GET", "/v1/refunds/{refund}", 200, targets=("refund",)),
    Case("v1/disputes", "GET", "/v1/disputes", 200),
    Case("v1/disputes/<str:dispute_id>", "GET", "/v1/disputes/{dispute}", 200, targets=("dispute",)),
    Case(
        "v1/disputes/<str:dispute_id>/evidence",
        "POST",
        "/v1/disputes/{dispute}/evidence",
        200,
        body={"text": "signed delivery receipt"},
        targets=("dispute",),
    ),
]


# --- settlements and payouts (settlements/api) --------------------------------------------------


def _settlement(client: httpx.Client, ids: dict[str, str]) -> str:
    """A's payment, settled by tomorrow's run (a service: merchants cannot create settlements)."""
    _payment(client, ids, amount=2000)
    settlement_run(date=timezone.now().date() + timedelta(days=1))
    return _first_id(client, "/v1/settlements")


# First of all: the run settles what A has on `pending`, and the payments made afterwards keep
# theirs for A's own refund case.
FACTORIES = {
    "settlement": _settlement,
    "payout": lambda c, ids: _first_id(c, "/v1/payouts"),
    **FACTORIES,
}

CASES += [
    Case("v1/settlements", "GET", "/v1/settlements", 200),
    Case(
        "v1/settlements/<str:settlement_id>",
        "GET",
        "/v1/settlements/{settlement}",
        200,
        targets=("settlement",),
    ),
    Case(
        "v1/settlements/<str:settlement_id>/lines",
        "GET",
        "/v1/settlements/{settlement}/lines",
        200,
        targets=("settlement",),
    ),
    Case("v1/payouts", "GET", "/v1/payouts", 200),
    Case("v1/payouts/<str:payout_id>", "GET", "/v1/payouts/{payout}", 200, targets=("payout",)),
]
