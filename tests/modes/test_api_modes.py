"""Test and live mode apart, through the API: each finding of the report, and the rules around it."""

import pytest

from accounts.models import LedgerAccount
from payments.models import Payment, PaymentMethod
from paysys.events.models import Event, WebhookDelivery
from paysys.events.webhook_services import webhook_fanout
from tests.api.helpers import ApiClient
from tests.modes.conftest import LIVE_CARD, TEST_CARD, pay

WEBHOOK_URL = "https://93.184.215.14/hooks"


def _error(response) -> dict:
    return response.json()["error"]


def test_a_test_key_cannot_refund_a_live_payment(live_processor, test_api, live_api):
    live_payment = pay(live_api, LIVE_CARD)
    assert live_payment.status_code == 201, live_payment.content
    assert live_payment.json()["livemode"] is True

    refund = test_api.post("/v1/refunds", {"payment": live_payment.json()["id"], "amount": 100})
    unknown = test_api.post("/v1/refunds", {"payment": "pay_" + "Z" * 24, "amount": 100})

    assert refund.status_code == 404
    strip = lambda e: {k: v for k, v in e.items() if k not in {"request_id", "message"}}  # noqa: E731
    assert strip(_error(refund)) == strip(_error(unknown))
    assert Payment.objects.get(public_id=live_payment.json()["id"]).amount_refunded.amount == 0
    # The live key refunds it.
    assert (
        live_api.post("/v1/refunds", {"payment": live_payment.json()["id"], "amount": 100}).status_code == 201
    )


def test_a_live_key_cannot_pay_with_a_test_card(live_processor, live_api):
    response = pay(live_api, TEST_CARD)

    assert response.status_code == 400
    assert _error(response)["code"] == "test_card_in_live_mode"
    assert _error(response)["param"] == "card[number]"
    tokenized = live_api.post("/v1/payment_methods", {"type": "card", "card": TEST_CARD})
    assert tokenized.status_code == 400
    assert _error(tokenized)["code"] == "test_card_in_live_mode"
    assert not Payment.objects.exists() and not PaymentMethod.objects.exists()
    assert live_processor.references == []


def test_a_live_card_payment_without_a_live_processor_is_refused_not_simulated(live_api, settings):
    settings.PAYSYS_LIVE_PROCESSOR_BACKEND = ""

    response = pay(live_api, LIVE_CARD)
    tokenized = live_api.post("/v1/payment_methods", {"type": "card", "card": LIVE_CARD})

    assert response.status_code == 400
    assert _error(response)["code"] == "live_mode_unavailable"
    assert tokenized.status_code == 400
    assert not Payment.objects.exists() and not PaymentMethod.objects.exists()


def test_a_live_payment_goes_to_the_live_adapter_and_a_test_payment_does_not(
    live_processor, test_api, live_api
):
    live = pay(live_api, LIVE_CARD)
    test = pay(test_api, TEST_CARD)

    assert live.status_code == test.status_code == 201
    assert any(ref.startswith(live.json()["id"]) for ref in live_processor.references)
    assert not any(ref.startswith(test.json()["id"]) for ref in live_processor.references)
    assert (live.json()["livemode"], test.json()["livemode"]) == (True, False)


def test_an_account_reads_its_own_mode_whichever_key_asks(test_api, live_api):
    test_wallet = test_api.post("/v1/accounts", {"currency": "eur"}).json()
    live_wallet = live_api.post("/v1/accounts", {"currency": "eur"}).json()

    assert (test_wallet["livemode"], live_wallet["livemode"]) == (False, True)
    assert test_api.get(f"/v1/accounts/{test_wallet['id']}").json()["livemode"] is False
    assert live_api.get(f"/v1/accounts/{live_wallet['id']}").json()["livemode"] is True
    # The other mode's key does not see it at all (it used to, with the key's livemode).
    assert live_api.get(f"/v1/accounts/{test_wallet['id']}").status_code == 404
    assert test_api.get(f"/v1/accounts/{live_wallet['id']}").status_code == 404
    stored = dict(
        LedgerAccount.objects.filter(public_id__in=[test_wallet["id"], live_wallet["id"]]).values_list(
            "public_id", "livemode"
        )
    )
    assert stored == {test_wallet["id"]: False, live_wallet["id"]: True}


def _pending(client: ApiClient) -> list[dict]:
    body = client.get("/v1/balance").json()
    return body["pending"]


def test_balances_never_mix_modes(live_processor, test_api, live_api):
    assert pay(test_api, TEST_CARD, amount=10000).status_code == 201
    test_pending = _pending(test_api)
    live_pending = _pending(live_api)
    assert test_pending[0]["amount"] > 0
    assert all(entry["amount"] == 0 for entry in live_pending)
    assert live_api.get("/v1/balance").json()["livemode"] is True

    assert pay(live_api, LIVE_CARD, amount=3000).status_code == 201
    assert _pending(test_api) == test_pending  # unchanged by live money
    assert 0 < _pending(live_api)[0]["amount"] < test_pending[0]["amount"]
    # Each mode's balance transactions are its own.
    test_sources = {row["source"] for row in test_api.get("/v1/balance_transactions").json()["data"]}
    live_sources = {row["source"] for row in live_api.get("/v1/balance_transactions").json()["data"]}
    assert test_sources and live_sources and not test_sources & live_sources


def test_an_idempotency_key_is_scoped_per_mode(test_api, live_api):
    first = test_api.post("/v1/accounts", {"currency": "eur"}, **{"Idempotency-Key": "same-key"})
    replay = test_api.post("/v1/accounts", {"currency": "eur"}, **{"Idempotency-Key": "same-key"})
    other_mode = live_api.post("/v1/accounts", {"currency": "eur"}, **{"Idempotency-Key": "same-key"})

    assert first.status_code == replay.status_code == other_mode.status_code == 201
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert other_mode.headers.get("Idempotent-Replayed") is None
    assert other_mode.json()["id"] != first.json()["id"]
    assert other_mode.json()["livemode"] is True


@pytest.mark.django_db(transaction=True)
def test_webhooks_of_each_mode_go_to_that_mode_s_endpoints_only(live_processor, test_api, live_api):
    test_endpoint = test_api.post(
        "/v1/webhook_endpoints", {"url": WEBHOOK_URL, "enabled_events": ["*"]}
    ).json()
    live_endpoint = live_api.post(
        "/v1/webhook_endpoints", {"url": WEBHOOK_URL, "enabled_events": ["*"]}
    ).json()
    assert (test_endpoint["livemode"], live_endpoint["livemode"]) == (False, True)
    assert pay(test_api, TEST_CARD).status_code == 201
    assert pay(live_api, LIVE_CARD).status_code == 201
    events = list(Event.objects.all())
    for event in events:  # fan-out normally runs after commit; running it again changes nothing
        webhook_fanout(event=event)

    delivered = {
        (d.event.livemode, d.endpoint.public_id)
        for d in WebhookDelivery.objects.select_related("event", "endpoint")
    }
    assert delivered == {(False, test_endpoint["id"]), (True, live_endpoint["id"])}
    # Every event of each mode reached its endpoint.
    for livemode, endpoint in ((False, test_endpoint), (True, live_endpoint)):
        mode_events = {e.pk for e in events if e.livemode == livemode}
        assert (
            set(
                WebhookDelivery.objects.filter(endpoint__public_id=endpoint["id"]).values_list(
                    "event_id", flat=True
                )
            )
            == mode_events
        )
    # Resending a test event to the live endpoint: neither is visible to the other mode's key.
    test_event = next(e for e in events if not e.livemode)
    assert live_api.post(f"/v1/events/{test_event.public_id}/resend", {}).status_code == 404
    assert (
        test_api.post(
            f"/v1/events/{test_event.public_id}/resend", {"webhook_endpoint": live_endpoint["id"]}
        ).status_code
        == 404
    )
    # Lists are per mode.
    assert {e["livemode"] for e in live_api.get("/v1/events").json()["data"]} == {True}
    assert {e["livemode"] for e in test_api.get("/v1/events").json()["data"]} == {False}


def test_a_transfer_cannot_move_money_between_modes(test_api, live_api):
    test_wallet = test_api.post("/v1/accounts", {"currency": "eur"}).json()["id"]
    live_wallet = live_api.post("/v1/accounts", {"currency": "eur"}).json()["id"]
    body = {"from_account": test_wallet, "to_account": live_wallet, "amount": 100, "currency": "eur"}

    for client, param in ((test_api, "to_account"), (live_api, "from_account")):
        response = client.post("/v1/transfers", body)
        assert response.status_code == 404, response.content
        assert _error(response)["param"] == param


def test_test_payments_do_not_use_up_the_live_daily_volume(live_processor, shop, test_api, live_api):
    from moneyed import Money

    from merchants.models import Merchant, MerchantLimit

    merchant = Merchant.objects.get(public_id=shop.merchant_id)
    MerchantLimit.objects.create(merchant=merchant, currency="EUR", daily_volume=Money("60.00", "EUR"))
    assert pay(test_api, TEST_CARD, amount=5000).status_code == 201
    assert pay(test_api, TEST_CARD, amount=5000).json()["error"]["code"] == "daily_volume_exceeded"

    assert pay(live_api, LIVE_CARD, amount=5000).status_code == 201


def test_without_a_live_processor_live_payments_wait_untouched_and_background_work_goes_on(
    live_processor, live_api, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from payments.models import ProcessorOperation
    from payments.services import payments_expire_authorizations, payments_resolve_processing

    authorized = pay(live_api, LIVE_CARD, capture_method="manual").json()
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 1.0
    unanswered = pay(live_api, LIVE_CARD).json()
    assert (authorized["status"], unanswered["status"]) == ("requires_capture", "processing")
    settings.PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = 0.0
    settings.PAYSYS_LIVE_PROCESSOR_BACKEND = ""
    operations = ProcessorOperation.objects.count()

    capture = live_api.post(f"/v1/payments/{authorized['id']}/capture", {})
    assert capture.status_code == 400
    assert _error(capture)["code"] == "live_mode_unavailable"
    # Nobody can be asked about the lost answer: it stays pending, never guessed "not sent".
    assert payments_resolve_processing(min_age=timedelta(0))["unknown"] == 1
    Payment.objects.filter(public_id=authorized["id"]).update(expires_at=timezone.now())
    assert payments_expire_authorizations() == 0

    assert ProcessorOperation.objects.count() == operations
    assert ProcessorOperation.objects.filter(status="pending").count() == 1
    statuses = dict(Payment.objects.values_list("public_id", "status"))
    assert statuses == {authorized["id"]: "requires_capture", unanswered["id"]: "processing"}
