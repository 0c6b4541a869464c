"""GET /v1/settlements, /v1/settlements/{id}, /v1/settlements/{id}/lines (JSON and CSV),
/v1/payouts, /v1/payouts/{id}: the key's merchant and mode only, paginated and filterable."""

import pytest
from django.core.management import call_command

from merchants.models import Merchant
from settlements.export import settlement_csv
from settlements.models import Settlement
from settlements.services import settlement_run
from tests.api.helpers import ApiClient, tenant_create
from tests.settlements.conftest import pay, tomorrow

pytestmark = pytest.mark.django_db


@pytest.fixture
def settled(settings):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    a, b = tenant_create("Alpha"), tenant_create("Bravo")
    for tenant, amounts in ((a, ("100.00", "50.00")), (b, ("20.00",))):
        merchant = Merchant.objects.get(public_id=tenant.merchant_id)
        for amount in amounts:
            pay(merchant, amount)
    settlement_run(date=tomorrow())
    return a, b


def test_a_merchant_reads_its_settlement_its_lines_and_its_payout(settled):
    a, _ = settled
    api = ApiClient(a.secret)
    listing = api.get("/v1/settlements").json()
    assert (listing["object"], listing["has_more"], len(listing["data"])) == ("list", False, 1)
    settlement = listing["data"][0]
    assert settlement["object"] == "settlement"
    assert (settlement["gross"], settlement["fees"], settlement["net"], settlement["count"]) == (
        15000,
        315 + 170,  # the default plan: 2.9 % + EUR 0.25 per payment
        15000 - 485,
        2,
    )
    assert (settlement["currency"], settlement["status"], settlement["livemode"]) == (
        "eur",
        "completed",
        False,
    )
    assert api.get(f"/v1/settlements/{settlement['id']}").json() == settlement

    lines = api.get(f"/v1/settlements/{settlement['id']}/lines").json()["data"]
    assert sorted(line["gross"] for line in lines) == [5000, 10000]
    assert {line["type"] for line in lines} == {"payment"}
    first = api.get(f"/v1/settlements/{settlement['id']}/lines?limit=1").json()
    assert first["has_more"] is True
    rest = api.get(f"/v1/settlements/{settlement['id']}/lines?starting_after={first['data'][0]['id']}").json()
    assert [line["id"] for line in first["data"] + rest["data"]] == [line["id"] for line in lines]

    payout = api.get("/v1/payouts").json()["data"][0]
    assert (payout["amount"], payout["status"], payout["settlement"]) == (14515, "pending", settlement["id"])
    assert api.get(f"/v1/payouts/{payout['id']}").json() == payout
    assert settlement["payout"] == payout["id"]


def test_lists_filter_by_status_and_currency(settled):
    api = ApiClient(settled[0].secret)
    assert len(api.get("/v1/settlements?status=carried_forward").json()["data"]) == 0
    assert len(api.get("/v1/settlements?currency=eur").json()["data"]) == 1
    assert len(api.get("/v1/payouts?status=paid").json()["data"]) == 0
    bad = api.get("/v1/payouts?status=lost")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "status"


def test_another_merchants_or_modes_settlement_is_not_found(settled):
    a, b = settled
    theirs = Settlement.objects.get(merchant__public_id=b.merchant_id)
    for secret in (a.secret, b.live_secret):
        api = ApiClient(secret)
        for path in (f"/v1/settlements/{theirs.public_id}", f"/v1/settlements/{theirs.public_id}/lines"):
            response = api.get(path)
            assert response.status_code == 404, path
        assert api.get(f"/v1/payouts/{theirs.payout.public_id}").status_code == 404
    assert len(ApiClient(a.live_secret).get("/v1/settlements").json()["data"]) == 0


def test_lines_as_csv_are_the_bytes_the_export_command_writes(settled, tmp_path):
    a, _ = settled
    settlement = Settlement.objects.get(merchant__public_id=a.merchant_id)
    response = ApiClient(a.secret).get(f"/v1/settlements/{settlement.public_id}/lines", accept="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    header, *rows = body.splitlines()
    assert header == "id,type,source,transaction,amount,fee,gross,currency,created"
    assert len(rows) == 2
    assert body == settlement_csv(settlement)
    out = tmp_path / "lines.csv"
    call_command("export_settlement", settlement.public_id, "--output", str(out))
    assert out.read_text() == body
    # An error stays JSON when CSV was asked for.
    missing = ApiClient(a.secret).get("/v1/settlements/set_nope/lines", accept="text/csv")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "resource_missing"
