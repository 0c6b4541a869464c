"""POST /v1/top_ups: a card payment whose capture credits a customer wallet its net, in one posting."""

from decimal import Decimal

import pytest
from moneyed import Money

from accounts.models import AccountKind, Entry, JournalTransaction, LedgerAccount, TransactionKind
from accounts.selectors import account_balance_get
from payments.models import Payment, TopUp
from paysys.events.models import Event
from tests.payments.conftest import assert_ledger_ok, card

DECLINED = "4000000000000002"
CHALLENGE = "4000000000003220"


def open_wallet(api, currency="eur") -> str:
    response = api.post("/v1/accounts", {"currency": currency}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def top_up(api, account, *, amount=10000, number="4242424242424242", currency="eur", **extra):
    body = {
        "account": account,
        "amount": amount,
        "currency": currency,
        "payment_method_data": {"type": "card", "card": card(number)},
        **extra,
    }
    return api.post("/v1/top_ups", body, format="json")


def posted_minor(account_id: str) -> int:
    account = LedgerAccount.objects.get(public_id=account_id)
    return int(account_balance_get(account_id=account.pk).posted.amount * 100)


def test_a_top_up_charges_the_card_and_credits_the_wallet_its_net_in_one_posting(api, merchant):
    wallet = open_wallet(api)
    response = top_up(api, wallet, amount=10000, metadata={"order": "o-1"})

    assert response.status_code == 201, response.content
    body = response.json()
    # The merchant's fee plan (2.90 % + 30): 290 + 30 = 320 on EUR 100.00.
    assert body["id"].startswith("tu_") and body["object"] == "top_up"
    assert (body["status"], body["amount"], body["fee"], body["net"]) == ("succeeded", 10000, 320, 9680)
    assert (body["account"], body["currency"], body["failure_code"]) == (wallet, "eur", None)
    assert body["metadata"] == {"order": "o-1"} and body["livemode"] is False
    payment = Payment.objects.get(public_id=body["payment"])
    assert (payment.status, payment.capture_method, payment.fee) == (
        "succeeded",
        "automatic",
        Money("3.20", "EUR"),
    )
    assert posted_minor(wallet) == 9680

    txn = JournalTransaction.objects.get(reference=f"capture:{payment.public_id}")
    assert txn.kind == TransactionKind.FUNDING
    lines = {
        (e.account.kind, e.amount) for e in Entry.objects.filter(transaction=txn).select_related("account")
    }
    assert lines == {
        (AccountKind.CARD_CLEARING, Decimal("-100.000")),
        (AccountKind.WALLET, Decimal("96.800")),
        (AccountKind.FEES, Decimal("3.200")),
    }
    # The merchant's own balance did not move: the money is the customer's.
    assert not Entry.objects.filter(account__merchant_id=merchant.public_id, account__kind="pending").exists()
    event = Event.objects.get(type="top_up.succeeded")
    assert event.data["object"]["id"] == body["id"] and event.data["object"]["net"] == 9680
    assert api.get(f"/v1/top_ups/{body['id']}").json() == body
    assert_ledger_ok()


def test_a_declined_card_is_402_naming_the_failed_top_up_and_credits_nothing(api):
    wallet = open_wallet(api)
    response = top_up(api, wallet, number=DECLINED)

    assert response.status_code == 402, response.content
    error = response.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "generic_decline",
    )
    failed = api.get(f"/v1/top_ups/{error['top_up']}").json()
    assert (failed["status"], failed["failure_code"], failed["payment"]) == (
        "failed",
        "generic_decline",
        error["payment"],
    )
    assert (failed["fee"], failed["net"]) == (0, 0)
    assert posted_minor(wallet) == 0
    assert Event.objects.filter(type="top_up.failed", object_id=error["top_up"]).count() == 1
    assert_ledger_ok()


def test_a_challenged_card_leaves_the_top_up_processing_until_the_payment_is_confirmed(api):
    wallet = open_wallet(api)
    body = top_up(api, wallet, number=CHALLENGE, amount=5000).json()
    assert body["status"] == "processing" and posted_minor(wallet) == 0

    confirmed = api.post(f"/v1/payments/{body['payment']}/confirm", {"challenge": "pass"}, format="json")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded"
    after = api.get(f"/v1/top_ups/{body['id']}").json()
    assert (after["status"], after["net"]) == ("succeeded", 5000 - 175)  # 145 + 30
    assert posted_minor(wallet) == 4825
    assert_ledger_ok()


def test_another_merchants_wallet_is_404_and_nothing_is_charged(api, merchant_factory, api_client_for):
    other = api_client_for(merchant_factory(name="Other"))
    foreign = open_wallet(other)
    response = top_up(api, foreign)
    unknown = top_up(api, "acct_doesnotexist")

    assert response.status_code == 404 and response.json()["error"]["param"] == "account"
    for key in ("type", "code", "param"):
        assert response.json()["error"][key] == unknown.json()["error"][key]
    assert not Payment.objects.exists() and not TopUp.objects.exists()
    assert posted_minor(foreign) == 0


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"currency": "usd"}, "currency"),
        ({"amount": 0}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"account": ""}, "account"),
        ({"payment_method_data": None, "payment_method": None}, "payment_method"),
    ],
)
def test_bad_top_up_input_is_400_naming_the_param(api, change, param):
    wallet = open_wallet(api)
    body = {
        "account": wallet,
        "amount": 1000,
        "currency": "eur",
        "payment_method_data": {"type": "card", "card": card()},
        **change,
    }
    body = {k: v for k, v in body.items() if v is not None}
    response = api.post("/v1/top_ups", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == param
    assert not TopUp.objects.exists()


def test_a_top_up_is_idempotent_under_its_key(api):
    wallet = open_wallet(api)
    body = {
        "account": wallet,
        "amount": 2000,
        "currency": "eur",
        "payment_method_data": {"type": "card", "card": card()},
    }
    first = api.post("/v1/top_ups", body, format="json", HTTP_IDEMPOTENCY_KEY="tu-key-1")
    again = api.post("/v1/top_ups", body, format="json", HTTP_IDEMPOTENCY_KEY="tu-key-1")

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.content == first.content
    assert TopUp.objects.count() == 1 and posted_minor(wallet) == 2000 - 88  # 58 + 30


def test_top_ups_list_newest_first_pages_and_filters(api):
    wallet = open_wallet(api)
    ok = [top_up(api, wallet, amount=1000).json()["id"] for _ in range(3)]
    failed = top_up(api, wallet, number=DECLINED).json()["error"]["top_up"]

    page = api.get("/v1/top_ups?limit=2").json()
    assert [row["id"] for row in page["data"]] == [failed, ok[2]] and page["has_more"] is True
    rest = api.get(f"/v1/top_ups?limit=10&starting_after={ok[2]}").json()
    assert [row["id"] for row in rest["data"]] == [ok[1], ok[0]] and rest["has_more"] is False
    assert [r["id"] for r in api.get("/v1/top_ups?status=failed").json()["data"]] == [failed]
    assert len(api.get("/v1/top_ups?status=succeeded").json()["data"]) == 3
    assert api.get("/v1/top_ups?status=processing").json()["data"] == []
    assert len(api.get(f"/v1/top_ups?account={wallet}&currency=eur").json()["data"]) == 4
    assert api.get("/v1/top_ups?currency=usd").json()["data"] == []
    assert api.get("/v1/top_ups?status=bogus").status_code == 400


def test_a_top_up_of_another_merchant_is_404(api, merchant_factory, api_client_for):
    other = api_client_for(merchant_factory(name="Other"))
    theirs = top_up(other, open_wallet(other)).json()["id"]
    response = api.get(f"/v1/top_ups/{theirs}")
    assert response.status_code == 404
    assert theirs not in {row["id"] for row in api.get("/v1/top_ups").json()["data"]}


def test_operators_see_top_ups_read_only_in_the_admin(api, admin_client):
    from django.urls import reverse

    top_up(api, open_wallet(api))
    row = TopUp.objects.get()
    changelist = admin_client.get(reverse("admin:payments_topup_changelist"))
    assert changelist.status_code == 200 and row.public_id.encode() in changelist.content
    assert b"delete_selected" not in changelist.content
    assert admin_client.get(reverse("admin:payments_topup_change", args=[row.pk])).status_code == 200
    assert admin_client.get(reverse("admin:payments_topup_add")).status_code == 403
    assert admin_client.post(reverse("admin:payments_topup_delete", args=[row.pk])).status_code == 403
    assert TopUp.objects.filter(pk=row.pk).exists()
