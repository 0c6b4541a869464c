"""The payment routes over HTTP (DRF test client, a real API key, real PostgreSQL and Redis)."""

import pytest

from payments.models import Payment
from tests.payments.conftest import assert_ledger_ok, card

# API.md's test cards: (HTTP status, payment status, decline code).
TEST_CARD_OUTCOMES = {
    "4242424242424242": (201, "succeeded", None),
    "4000000000000002": (402, "failed", "generic_decline"),
    "4000000000009995": (402, "failed", "insufficient_funds"),
    "4000000000009987": (402, "failed", "lost_card"),
    "4000000000000069": (402, "failed", "expired_card"),
    "4000000000000127": (402, "failed", "incorrect_cvc"),
    "4000000000000119": (402, "failed", "processing_error"),
    "4000000000003220": (201, "requires_action", None),
    "4000000000000259": (201, "succeeded", None),
    "4100000000000019": (201, "requires_review", None),
}


def pay(api, number="4242424242424242", *, amount=1000, currency="eur", **extra):
    body = {
        "amount": amount,
        "currency": currency,
        "payment_method_data": {"type": "card", "card": card(number)},
    }
    body.update(extra)
    return api.post("/v1/payments", body, format="json")


@pytest.mark.parametrize("number", sorted(TEST_CARD_OUTCOMES))
def test_each_test_card_has_its_documented_outcome(api, number):
    http_status, status, decline_code = TEST_CARD_OUTCOMES[number]
    response = pay(api, number)
    assert response.status_code == http_status, response.content
    body = response.json()
    if decline_code:
        error = body["error"]
        assert (error["type"], error["decline_code"]) == ("card_error", decline_code)
        payment = Payment.objects.get(public_id=error["payment"])
        assert (payment.status, payment.failure_code) == ("failed", decline_code)
    else:
        assert body["status"] == status
        assert body["payment_method"]["card"]["last4"] == number[-4:]
    assert number not in response.content.decode()


def test_dispute_card_is_disputed_after_capture(api):
    body = pay(api, "4000000000000259").json()
    assert body["disputed"] is True
    disputes = api.get("/v1/disputes", {"payment": body["id"]}).json()["data"]
    assert len(disputes) == 1 and disputes[0]["status"] == "needs_response"
    assert_ledger_ok()


@pytest.mark.parametrize(
    ("currency", "amount", "fee"),
    [("jpy", 1000, 59), ("eur", 1000, 59), ("kwd", 1000, 129)],
)
def test_currencies_with_zero_two_and_three_decimals(api, currency, amount, fee):
    # 290 bps of 1000 minor units is 29 in every exponent; the fixed fee is the EUR plan's 30
    # (EUR 0.30) and, with no plan in JPY or KWD, the platform's JPY 30 and KWD 0.100.
    body = pay(api, amount=amount, currency=currency).json()
    assert (body["currency"], body["amount"], body["amount_captured"]) == (currency, amount, amount)
    assert (body["fee"], body["net"]) == (fee, amount - fee)
    assert_ledger_ok()


def test_fractional_or_negative_amount_is_400_naming_amount(api):
    for amount in (10.5, -1, 0, "100"):
        response = pay(api, amount=amount)
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "amount"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("number", "4242424242424241", "incorrect_number"),
        ("exp_month", 13, "invalid_expiry_month"),
        ("exp_year", 2001, "invalid_expiry_year"),
        ("cvc", "12", "invalid_cvc"),
    ],
)
def test_card_problems_are_400_with_their_code(api, field, value, code):
    data = card()
    data[field] = value
    response = api.post("/v1/payment_methods", {"type": "card", "card": data}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert "4242424242424241" not in response.content.decode()


def test_tokenized_card_pays_and_never_shows_the_number(api):
    response = api.post("/v1/payment_methods", {"type": "card", "card": card()}, format="json")
    assert response.status_code == 201
    pm = response.json()
    assert pm["id"].startswith("pm_") and pm["card"]["brand"] == "visa" and pm["card"]["last4"] == "4242"
    assert "4242424242424242" not in response.content.decode() and "cvc" not in pm["card"]
    paid = api.post(
        "/v1/payments", {"amount": 500, "currency": "eur", "payment_method": pm["id"]}, format="json"
    )
    assert paid.status_code == 201 and paid.json()["payment_method"]["id"] == pm["id"]


def test_manual_capture_partial_then_refunds_over_http(merchant_factory, api_client_for):
    api = api_client_for(merchant_factory(bps=0, fixed=0))
    created = pay(api, amount=5000, capture_method="manual").json()
    assert created["status"] == "requires_capture" and created["amount_capturable"] == 5000
    captured = api.post(f"/v1/payments/{created['id']}/capture", {"amount": 3000}, format="json").json()
    assert (captured["status"], captured["amount_captured"], captured["amount_capturable"]) == (
        "succeeded",
        3000,
        0,
    )
    first = api.post("/v1/refunds", {"payment": created["id"], "amount": 1000}, format="json")
    assert first.status_code == 201 and first.json()["status"] == "succeeded"
    too_much = api.post("/v1/refunds", {"payment": created["id"], "amount": 2001}, format="json")
    assert too_much.status_code == 400 and too_much.json()["error"]["code"] == "amount_too_large"
    rest = api.post("/v1/refunds", {"payment": created["id"]}, format="json").json()
    assert rest["amount"] == 2000
    payment = api.get(f"/v1/payments/{created['id']}").json()
    assert (payment["amount_refunded"], payment["refunded"]) == (3000, True)
    listed = api.get("/v1/refunds", {"payment": created["id"]}).json()
    assert [r["amount"] for r in listed["data"]] == [2000, 1000]
    assert api.get(f"/v1/refunds/{rest['id']}").json()["id"] == rest["id"]
    assert_ledger_ok()


def test_refund_the_merchant_cannot_cover_is_400_balance_insufficient(api):
    created = pay(api, amount=1000).json()  # net 941 after the 59 fee
    short = api.post("/v1/refunds", {"payment": created["id"]}, format="json")
    assert short.status_code == 400 and short.json()["error"]["code"] == "balance_insufficient"
    covered = api.post("/v1/refunds", {"payment": created["id"], "amount": 941}, format="json")
    assert covered.status_code == 201
    assert_ledger_ok()


def test_cancel_then_capture_is_409_naming_the_status(api):
    created = pay(api, capture_method="manual").json()
    canceled = api.post(f"/v1/payments/{created['id']}/cancel", {}, format="json")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    again = api.post(f"/v1/payments/{created['id']}/capture", {}, format="json")
    assert again.status_code == 409
    error = again.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "payment_unexpected_state")
    assert "canceled" in error["message"]


def test_confirm_completes_a_requires_action_payment(api):
    created = pay(api, "4000000000003220").json()
    confirmed = api.post(f"/v1/payments/{created['id']}/confirm", {"challenge": "pass"}, format="json")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded"


def test_failed_challenge_is_a_402(api):
    created = pay(api, "4000000000003220").json()
    failed = api.post(f"/v1/payments/{created['id']}/confirm", {"challenge": "fail"}, format="json")
    assert failed.status_code == 402
    assert failed.json()["error"]["payment"] == created["id"]


def test_dispute_evidence_submission_moves_it_under_review(api):
    body = pay(api, "4000000000000259").json()
    dispute = api.get("/v1/disputes").json()["data"][0]
    assert dispute["payment"] == body["id"]
    saved = api.post(
        f"/v1/disputes/{dispute['id']}/evidence", {"text": "signed receipt"}, format="json"
    ).json()
    assert saved["status"] == "needs_response"
    submitted = api.post(
        f"/v1/disputes/{dispute['id']}/evidence", {"text": "signed receipt", "submit": True}, format="json"
    ).json()
    assert submitted["status"] == "under_review" and submitted["evidence"]["submitted_at"]
    late = api.post(f"/v1/disputes/{dispute['id']}/evidence", {"text": "more"}, format="json")
    assert late.status_code == 409


def test_wallet_payment_over_http(api, merchant):
    from decimal import Decimal

    from tests.payments.conftest import wallet_for

    wallet = wallet_for(merchant, amount=Decimal("20.00"))
    response = api.post(
        "/v1/payments", {"amount": 1500, "currency": "eur", "source_account": wallet.public_id}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["status"] == "succeeded" and response.json()["source_account"] == wallet.public_id
    short = api.post(
        "/v1/payments", {"amount": 1500, "currency": "eur", "source_account": wallet.public_id}, format="json"
    )
    assert short.status_code == 400 and short.json()["error"]["code"] == "insufficient_funds"
    assert_ledger_ok()


def test_payment_list_filters_by_status_and_pages(api):
    for _ in range(3):
        pay(api)
    pay(api, capture_method="manual")
    page = api.get("/v1/payments", {"limit": 2}).json()
    assert page["object"] == "list" and len(page["data"]) == 2 and page["has_more"] is True
    manual = api.get("/v1/payments", {"status": "requires_capture"}).json()["data"]
    assert len(manual) == 1


def test_idempotent_payment_create_replays_and_charges_once(api):
    body = {"amount": 700, "currency": "eur", "payment_method_data": {"type": "card", "card": card()}}
    first = api.post("/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    second = api.post("/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    assert first.status_code == second.status_code == 201
    assert first.content == second.content and second["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1


def test_split_payment_over_http_credits_the_connected_merchant(merchant_factory, api_client_for):
    platform = merchant_factory(name="Marketplace", bps=0, fixed=0)
    seller = merchant_factory(name="Seller", platform=platform)
    api, seller_api = api_client_for(platform), api_client_for(seller)
    stranger = merchant_factory(name="Stranger")

    refused = pay(api, amount=1000, transfer_data=[{"destination": stranger.public_id, "amount": 700}])
    unknown = pay(api, amount=1000, transfer_data=[{"destination": "mer_doesnotexist", "amount": 700}])
    assert refused.status_code == unknown.status_code == 404
    assert refused.json()["error"]["param"] == "transfer_data[0][destination]"
    assert not Payment.objects.exists()

    created = pay(api, amount=1000, transfer_data=[{"destination": seller.public_id, "amount": 700}])
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["transfer_data"] == [{"destination": seller.public_id, "amount": 700}]
    assert (body["status"], body["fee"], body["net"]) == ("succeeded", 0, 300)
    assert api.get("/v1/balance").json()["pending"] == [{"amount": 300, "currency": "eur"}]
    assert seller_api.get("/v1/balance").json()["pending"] == [{"amount": 700, "currency": "eur"}]
    # The seller sees the money arrive, not the platform's payment.
    assert seller_api.get(f"/v1/payments/{body['id']}").status_code == 404
    assert_ledger_ok()
