"""A merchant's day over real HTTP (live server, httpx): every test card, capture, partial
capture, cancel, refunds, a wallet payment, a dispute's lifecycle, then ``verify_ledger``."""

from decimal import Decimal
from io import StringIO

import httpx
import pytest
from django.core.management import call_command

from payments.processor.simulator import TEST_CARDS
from payments.services import dispute_close
from tests.api.helpers import tenant_create
from tests.payments.conftest import card, wallet_for


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.django_db(transaction=True)
def test_a_merchant_takes_captures_cancels_and_refunds_over_http(live_server, settings):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    tenant = tenant_create("Live Shop")
    http = httpx.Client(
        base_url=live_server.url, headers={"Authorization": f"Bearer {tenant.secret}"}, timeout=30
    )
    with http:
        outcomes = {}
        for number in TEST_CARDS:
            response = http.post(
                "/v1/payments",
                json={
                    "amount": 2000,
                    "currency": "eur",
                    "payment_method_data": {"type": "card", "card": card(number)},
                },
                headers={"Idempotency-Key": f"live-{number}"},
            )
            outcomes[number] = response.status_code
            assert "Request-Id" in response.headers
        assert sorted(set(outcomes.values())) == [201, 402]

        manual = http.post(
            "/v1/payments",
            json={
                "amount": 3000,
                "currency": "eur",
                "capture_method": "manual",
                "payment_method_data": {"type": "card", "card": card()},
            },
        ).json()
        partial = http.post(f"/v1/payments/{manual['id']}/capture", json={"amount": 2500}).json()
        assert (partial["status"], partial["amount_captured"]) == ("succeeded", 2500)
        refund = http.post("/v1/refunds", json={"payment": manual["id"], "amount": 1000}).json()
        assert refund["status"] == "succeeded"

        to_cancel = http.post(
            "/v1/payments",
            json={
                "amount": 700,
                "currency": "eur",
                "capture_method": "manual",
                "payment_method_data": {"type": "card", "card": card()},
            },
        ).json()
        assert http.post(f"/v1/payments/{to_cancel['id']}/cancel", json={}).json()["status"] == "canceled"

        from merchants.models import Merchant

        wallet = wallet_for(Merchant.objects.get(public_id=tenant.merchant_id), amount=Decimal("50.00"))
        paid = http.post(
            "/v1/payments", json={"amount": 1200, "currency": "eur", "source_account": wallet.public_id}
        )
        assert paid.status_code == 201 and paid.json()["status"] == "succeeded"

        dispute = http.get("/v1/disputes").json()["data"][0]
        submitted = http.post(
            f"/v1/disputes/{dispute['id']}/evidence", json={"text": "proof", "submit": True}
        )
        assert submitted.json()["status"] == "under_review"
        dispute_close(dispute_id=dispute["id"], outcome="won")
        assert http.get(f"/v1/disputes/{dispute['id']}").json()["status"] == "won"

    out = StringIO()
    call_command("verify_ledger", stdout=out)  # exits 1 on any broken invariant
    assert "ledger OK" in out.getvalue()
