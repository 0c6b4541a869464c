"""Finance in the admin: a settlement's lines as CSV (the bytes the API and
``manage.py export_settlement`` write), and reconciliation breaks listed for operators."""

import pytest
from django.db.models import F
from django.urls import reverse

from settlements.export import settlement_csv
from settlements.models import Settlement, SettlementBatch, SettlementBreak, SettlementLine
from settlements.services import settlement_batch_reconcile
from tests.admin.conftest import staff_client

pytestmark = pytest.mark.django_db


def _csv_url(settlement: Settlement) -> str:
    return reverse("admin:settlements_settlement_lines_csv", args=[settlement.pk])


def test_the_settlement_page_links_its_lines_as_the_csv_the_export_writes(world):
    client, _ = staff_client(username="finance", perms=["settlements.view_settlement"])
    settlement = Settlement.objects.get(status="completed")
    page = client.get(reverse("admin:settlements_settlement_change", args=[settlement.pk]))
    assert page.status_code == 200
    assert _csv_url(settlement).encode() in page.content

    response = client.get(_csv_url(settlement))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == f'attachment; filename="{settlement.public_id}.csv"'
    body = b"".join(response.streaming_content).decode()
    assert body == settlement_csv(settlement)
    assert len(body.splitlines()) == 1 + settlement.lines.count() > 1


def test_the_csv_is_refused_without_the_view_permission(world):
    client, _ = staff_client(username="support", perms=["settlements.view_payout"])
    settlement = Settlement.objects.get(status="completed")
    assert client.get(_csv_url(settlement)).status_code == 404


@pytest.mark.ledger_corrupted  # a settlement line altered on purpose
def test_an_open_break_is_listed_for_operators_and_filtered_by_state(world):
    batch = SettlementBatch.objects.get()
    # The last payment line: the world's breaks (resolved) name the first.
    line = SettlementLine.objects.filter(settlement__batch=batch, type="payment").order_by("-pk").first()
    SettlementLine.objects.filter(pk=line.pk).update(amount=F("amount") + 1, gross=F("gross") + 1)
    breaks = settlement_batch_reconcile(batch=batch)
    assert breaks
    client, _ = staff_client(username="finance", perms=["settlements.view_settlementbreak"])
    changelist = reverse("admin:settlements_settlementbreak_changelist")

    open_page = client.get(changelist, {"resolved_at__isempty": "1"})
    assert open_page.status_code == 200
    assert {b.pk for b in open_page.context["cl"].result_list} == {b.pk for b in breaks}
    assert f"line sl_{line.pk}".encode() in open_page.content
    resolved_page = client.get(changelist, {"resolved_at__isempty": "0"})
    resolved = set(SettlementBreak.objects.filter(resolved_at__isnull=False).values_list("pk", flat=True))
    assert resolved and {b.pk for b in resolved_page.context["cl"].result_list} == resolved
