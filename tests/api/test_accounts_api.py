"""The ledger endpoints: wallets, entries, transfers, reversal, balance, balance transactions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import JournalTransaction, LedgerAccount, Transfer
from accounts.services import account_freeze, ledger_verify
from paysys.idempotency.models import IdempotencyKey
from tests.api.helpers import ApiClient, funded_wallet

pytestmark = pytest.mark.django_db


def wallet(api, **extra):
    response = api.post("/v1/accounts", {"currency": "eur", **extra})
    assert response.status_code == 201, response.content
    return response.json()


def test_open_wallet_renders_the_object(api):
    body = wallet(api, metadata={"customer": "c1"})
    assert body["id"].startswith("acct_")
    assert body["object"] == "account"
    assert body["created"].endswith("Z")
    assert (body["kind"], body["currency"], body["status"]) == ("wallet", "eur", "open")
    assert (body["balance"], body["available"], body["pending"]) == (0, 0, 0)
    assert body["metadata"] == {"customer": "c1"} and body["livemode"] is False


@pytest.mark.parametrize("currency", ["EUR", "xyz", 978, ""])
def test_open_wallet_with_a_bad_currency_is_400_naming_currency(api, currency):
    response = api.post("/v1/accounts", {"currency": currency})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "currency"


def test_account_list_has_the_merchant_accounts_and_wallets_newest_first(api):
    first, second = wallet(api), wallet(api)
    body = api.get("/v1/accounts").json()
    ids = [row["id"] for row in body["data"]]
    assert ids[:2] == [second["id"], first["id"]]
    assert {row["kind"] for row in body["data"]} == {"wallet", "pending", "available", "reserve"}
    assert [r["id"] for r in api.get("/v1/accounts?kind=wallet").json()["data"]] == [
        second["id"],
        first["id"],
    ]


def test_transfer_moves_money_and_entries_show_it(api):
    source, destination = funded_wallet(api), wallet(api)
    response = api.post(
        "/v1/transfers",
        {
            "from_account": source["id"],
            "to_account": destination["id"],
            "amount": 1050,
            "currency": "eur",
            "description": "top-up",
            "metadata": {"order": "42"},
        },
    )
    assert response.status_code == 201, response.content
    transfer = response.json()
    assert transfer["id"].startswith("tr_") and transfer["transaction"].startswith("txn_")
    assert (transfer["amount"], transfer["currency"], transfer["status"]) == (1050, "eur", "posted")
    assert api.get(f"/v1/accounts/{destination['id']}").json()["balance"] == 1050
    entries = api.get(f"/v1/accounts/{source['id']}/entries").json()["data"]
    funded = source["balance"]
    assert [(e["amount"], e["balance_after"], e["type"]) for e in entries] == [
        (-1050, funded - 1050, "transfer"),
        (funded, funded, "funding"),
    ]
    assert entries[0]["transaction"] == transfer["transaction"]
    assert entries[0]["id"].startswith("ent_")
    assert api.get(f"/v1/transfers/{transfer['id']}").json() == transfer


def test_reverse_books_a_new_transaction_and_keeps_the_original(api):
    source, destination = funded_wallet(api), wallet(api)
    transfer = api.post(
        "/v1/transfers",
        {"from_account": source["id"], "to_account": destination["id"], "amount": 500, "currency": "eur"},
    ).json()
    reversed_ = api.post(f"/v1/transfers/{transfer['id']}/reverse").json()
    assert reversed_["status"] == "reversed"
    assert reversed_["transaction"] == transfer["transaction"]
    assert reversed_["reversal_transaction"].startswith("txn_")
    assert api.get(f"/v1/accounts/{destination['id']}").json()["balance"] == 0
    again = api.post(f"/v1/transfers/{transfer['id']}/reverse")
    assert again.status_code == 409
    assert api.get(f"/v1/accounts/{destination['id']}/entries").json()["data"][0]["type"] == "reversal"


def test_insufficient_funds_is_400_insufficient_funds(api):
    source, destination = wallet(api), wallet(api)
    response = api.post(
        "/v1/transfers",
        {"from_account": source["id"], "to_account": destination["id"], "amount": 1, "currency": "eur"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "insufficient_funds"
    assert not Transfer.objects.exists()


def test_frozen_account_is_409_account_frozen(api):
    source, destination = funded_wallet(api), wallet(api)
    account_freeze(account_id=destination["id"], reason="test")
    response = api.post(
        "/v1/transfers",
        {"from_account": source["id"], "to_account": destination["id"], "amount": 1, "currency": "eur"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "account_frozen"


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 10.5}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"amount": 10**15}, "amount"),
        ({"currency": "EUR"}, "currency"),
        ({"currency": "zzz"}, "currency"),
        ({"to_account": "acct_nope"}, "to_account"),
        ({"metadata": {"k": 1}}, "metadata"),
    ],
)
def test_bad_transfer_input_is_400_naming_the_param(api, change, param):
    source, destination = funded_wallet(api), wallet(api)
    body = {"from_account": source["id"], "to_account": destination["id"], "amount": 100, "currency": "eur"}
    response = api.post("/v1/transfers", {**body, **change})
    assert response.status_code in (400, 404)
    assert response.json()["error"]["param"] == param


def test_read_only_key_can_read_but_not_transfer(api, a):
    reader = ApiClient(a.read_secret)
    assert reader.get("/v1/accounts").status_code == 200
    response = reader.post("/v1/accounts", {"currency": "eur"})
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"


def test_balance_lists_available_pending_reserved_per_currency(api):
    body = api.get("/v1/balance").json()
    assert body["object"] == "balance"
    assert body["available"] == [{"amount": 0, "currency": "eur"}]
    assert body["pending"] == [{"amount": 0, "currency": "eur"}]
    assert body["reserved"] == [{"amount": 0, "currency": "eur"}]


def test_balance_transactions_list_movements_of_the_merchants_own_balance(api, a):
    available = LedgerAccount.objects.get(merchant_id=a.merchant_id, kind="available", livemode=False)
    funding = funded_wallet(api)
    out = api.post(
        "/v1/transfers",
        {"from_account": funding["id"], "to_account": available.public_id, "amount": 700, "currency": "eur"},
    ).json()
    rows = api.get("/v1/balance_transactions").json()["data"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["amount"], row["fee"], row["net"], row["type"], row["source"]) == (
        700,
        0,
        700,
        "transfer",
        out["id"],
    )
    assert row["status"] == "available" and row["id"].startswith("bt_")
    assert api.get("/v1/balance").json()["available"] == [{"amount": 700, "currency": "eur"}]


def test_lists_page_with_starting_after_and_filter_by_created(api):
    accounts = [wallet(api) for _ in range(5)]
    page = api.get("/v1/accounts?kind=wallet&limit=2").json()
    assert page["has_more"] is True
    rest = api.get(f"/v1/accounts?kind=wallet&limit=10&starting_after={page['data'][-1]['id']}").json()
    assert [r["id"] for r in page["data"] + rest["data"]] == [x["id"] for x in reversed(accounts)]
    created = accounts[2]["created"]
    newer = api.get(f"/v1/accounts?kind=wallet&created[gte]={created}").json()["data"]
    assert [r["id"] for r in newer] == [x["id"] for x in reversed(accounts[2:])]
    bad = api.get("/v1/accounts?created[gte]=yesterday")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "created[gte]"


def test_entries_page_by_their_derived_ids(api):
    source, destination = funded_wallet(api), wallet(api)
    for amount in (1, 2, 3):
        api.post(
            "/v1/transfers",
            {
                "from_account": source["id"],
                "to_account": destination["id"],
                "amount": amount,
                "currency": "eur",
            },
        )
    first = api.get(f"/v1/accounts/{destination['id']}/entries?limit=2").json()
    second = api.get(
        f"/v1/accounts/{destination['id']}/entries?starting_after={first['data'][-1]['id']}"
    ).json()
    assert [e["amount"] for e in first["data"] + second["data"]] == [3, 2, 1]
    assert api.get(f"/v1/accounts/{destination['id']}/entries?starting_after=ent_!!").status_code == 404


def test_transfer_post_query_count_is_bounded(api, django_assert_max_num_queries):
    source, destination = funded_wallet(api), wallet(api)
    body = {"from_account": source["id"], "to_account": destination["id"], "amount": 100, "currency": "eur"}
    api.post("/v1/transfers", body)
    with django_assert_max_num_queries(30):
        assert api.post("/v1/transfers", body, **{"Idempotency-Key": "q1"}).status_code == 201


def test_account_read_query_count_is_constant(api, django_assert_num_queries):
    for _ in range(3):
        wallet(api)
    api.get("/v1/accounts")
    with django_assert_num_queries(2):  # the key, the page
        assert api.get("/v1/accounts?limit=100").status_code == 200


def test_empty_created_filter_is_400_and_empty_cursor_is_the_first_page(api):
    wallet(api)
    bad = api.get("/v1/accounts?created[lt]=")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "created[lt]"
    assert api.get("/v1/accounts?starting_after=").json()["data"] == api.get("/v1/accounts").json()["data"]


def test_unknown_starting_after_is_404_naming_the_param(api):
    response = api.get("/v1/transfers?starting_after=tr_unknown")
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "starting_after"


@pytest.mark.parametrize(
    "query",
    [
        "created[gte]=0604-04-05T21:40:09.11%2B16:44",
        "created[lt]=0001-01-01T00:00:00%2B05:00",
        "starting_after=acct_%00x",
        "currency=e%00r",
    ],
)
def test_exotic_query_values_never_reach_the_database_as_errors(api, query):
    response = api.get(f"/v1/accounts?{query}")
    assert response.status_code < 500, response.content


def test_nul_in_a_path_id_is_404_in_a_currency_filter_or_metadata_is_400(api):
    wallet(api)
    assert api.get("/v1/accounts/acct_%00").status_code == 404
    assert api.get("/v1/accounts?currency=e%00r").json()["error"]["param"] == "currency"
    assert api.get("/v1/accounts?starting_after=acct_%00").status_code == 404
    assert api.post("/v1/accounts", {"currency": "eur", "metadata": {"k": "a\x00b"}}).status_code == 400


def test_list_reads_run_a_constant_number_of_queries(api, a, django_assert_num_queries):
    source, destination = funded_wallet(api)["id"], wallet(api)["id"]
    available = LedgerAccount.objects.get(
        merchant_id=a.merchant_id, kind="available", livemode=False
    ).public_id
    for amount in (1, 2, 3, 4):
        for target in (destination, available):
            body = {"from_account": source, "to_account": target, "amount": amount, "currency": "eur"}
            assert api.post("/v1/transfers", body).status_code == 201
    api.get("/v1/balance")  # the key's last_used_at is fresh: authentication is one query
    # the key, the page (entries: and their account first); never one query per row
    for path, queries in (
        ("/v1/transfers?limit=100", 2),
        (f"/v1/accounts/{destination}/entries?limit=100", 3),
        ("/v1/balance_transactions?limit=100", 2),
        ("/v1/balance", 2),
    ):
        with django_assert_num_queries(queries):
            response = api.get(path)
        assert response.status_code == 200
        assert len(response.json().get("data", [None])) >= 1


# --- in the request's own transaction, as served (no test-case transaction around it) --------


def _transfer(api, source, destination, amount, key):
    body = {
        "from_account": source["id"],
        "to_account": destination["id"],
        "amount": amount,
        "currency": "eur",
    }
    return api.post("/v1/transfers", body, idempotency_key=key)


@pytest.mark.django_db(transaction=True)
def test_a_transfer_the_database_refuses_is_stored_and_replayed_and_writes_nothing(api):
    source, destination = wallet(api), wallet(api)
    refused = _transfer(api, source, destination, 500, key="refused")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "insufficient_funds"
    again = _transfer(api, source, destination, 500, key="refused")
    assert (again.status_code, again.content, again["Idempotent-Replayed"]) == (400, refused.content, "true")
    assert IdempotencyKey.objects.get(key="refused").response_status == 400
    assert not Transfer.objects.exists() and not JournalTransaction.objects.exists()
    assert ledger_verify().ok
    # The connection is left usable: the next request on it posts.
    funded = funded_wallet(api)
    assert _transfer(api, funded, source, 500, key="funds").status_code == 201
    assert _transfer(api, source, destination, 500, key="refused-then").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_transfer_joins_the_request_transaction_without_a_savepoint(api):
    source, destination = funded_wallet(api), wallet(api)
    with CaptureQueriesContext(connection) as captured:
        assert _transfer(api, source, destination, 100, key="one").status_code == 201
    statements = [q["sql"] for q in captured.captured_queries]
    assert any("ledger_transfer_create" in sql for sql in statements)
    assert not [sql for sql in statements if "SAVEPOINT" in sql.upper()]
    assert [sql for sql in statements if sql.strip().upper() == "COMMIT"] == ["COMMIT"]
