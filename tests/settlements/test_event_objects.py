"""One rendering: settlement and payout events carry their object exactly as the API shows it,
and the CSV export's rows are the API's lines (``settlements.serializers``)."""

import csv
import io
from datetime import timedelta

import pytest

from merchants.models import Merchant
from merchants.services import merchant_update
from settlements.export import settlement_csv
from settlements.models import Payout, Settlement
from settlements.serializers import line_pk
from settlements.services import payouts_update, settlement_run
from tests.api.helpers import ApiClient, tenant_create
from tests.settlements.conftest import pay, tomorrow

pytestmark = pytest.mark.django_db


def event_object(api: ApiClient, event_type: str, object_id: str) -> dict:
    events = api.get(f"/v1/events?type={event_type}&limit=100").json()["data"]
    (shown,) = (event["data"]["object"] for event in events if event["data"]["object"]["id"] == object_id)
    return shown


def api_body(api: ApiClient, path: str) -> dict:
    response = api.get(path)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def settled(settings):
    """Two tenants settled on one run; the second's bank refuses its payouts."""
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    paid, failed = tenant_create("Alpha"), tenant_create("Bravo")
    merchant_update(
        merchant_id=failed.merchant_id, changes={"metadata": {"payout_outcome": "account_closed"}}
    )
    for tenant in (paid, failed):
        merchant = Merchant.objects.get(public_id=tenant.merchant_id)
        pay(merchant, "100.00")
        pay(merchant, "25.50")
    settlement_run(date=tomorrow())
    return paid, failed


def test_settlement_and_payout_objects_in_events_are_the_api_bodies(settled):
    paid, failed = settled
    payouts_update(today=tomorrow())
    assert payouts_update(today=tomorrow() + timedelta(days=1)) == {"paid": 1, "failed": 1}
    for tenant, payout_event in ((paid, "payout.paid"), (failed, "payout.failed")):
        api = ApiClient(tenant.secret)
        settlement = Settlement.objects.get(merchant__public_id=tenant.merchant_id)
        body = api_body(api, f"/v1/settlements/{settlement.public_id}")
        assert event_object(api, "settlement.completed", settlement.public_id) == body
        assert body["payout"] is not None and body["gross"] == 12550

        payout = Payout.objects.get(settlement=settlement)
        body = api_body(api, f"/v1/payouts/{payout.public_id}")
        assert event_object(api, payout_event, payout.public_id) == body
        assert body["status"] == payout_event.removeprefix("payout.")
    assert body["failure_code"] == "account_closed"


def test_csv_rows_are_the_api_lines(settled):
    paid, _ = settled
    settlement = Settlement.objects.get(merchant__public_id=paid.merchant_id)
    lines = api_body(ApiClient(paid.secret), f"/v1/settlements/{settlement.public_id}/lines")["data"]
    rows = list(csv.DictReader(io.StringIO(settlement_csv(settlement))))
    assert len(rows) == len(lines) == 2
    oldest_first = sorted(lines, key=lambda line: line_pk(line["id"]))
    assert rows == [{column: str(line[column]) for column in rows[0]} for line in oldest_first]
    assert list(rows[0]) == [name for name in lines[0] if name != "object"]
