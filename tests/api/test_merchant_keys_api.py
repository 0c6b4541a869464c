"""Real merchants' keys against the API: suspension, closing, rotation, audit attribution."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from merchants.models import ApiKey
from merchants.services import api_key_rotate, merchant_activate, merchant_close, merchant_suspend
from paysys.audit.models import AuditEvent
from paysys.audit.services import audit_idempotency_key_digest
from paysys.idempotency.models import IdempotencyKey
from paysys.idempotency.tasks import prune
from tests.api.helpers import ApiClient, funded_wallet, tenant_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def a(settings):
    settings.PAYSYS_RATE_LIMIT_ENABLED = False
    return tenant_create("Alpha")


def test_suspended_merchant_gets_403_merchant_suspended_until_reinstated(a):
    api = ApiClient(a.secret)
    merchant_suspend(merchant_id=a.merchant_id, reason="review")
    response = api.get("/v1/balance")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "merchant_suspended"
    merchant_activate(merchant_id=a.merchant_id)
    assert api.get("/v1/balance").status_code == 200


def test_closed_merchant_keys_are_401(a):
    merchant_close(merchant_id=a.merchant_id)
    assert ApiClient(a.secret).get("/v1/balance").status_code == 401


def test_rotated_key_works_until_the_overlap_ends(a):
    _new, new_secret = api_key_rotate(prefix=a.secret[:16], overlap=timedelta(hours=1))
    assert ApiClient(a.secret).get("/v1/balance").status_code == 200
    ApiKey.objects.filter(prefix=a.secret[:16]).update(expires_at=timezone.now())
    assert ApiClient(a.secret).get("/v1/balance").status_code == 401
    assert ApiClient(new_secret).get("/v1/balance").status_code == 200


def test_api_writes_are_audited_as_the_key_with_its_idempotency_key(a):
    api = ApiClient(a.secret)
    source = funded_wallet(api)["id"]
    destination = api.post("/v1/accounts", {"currency": "eur"}).json()["id"]
    api.post(
        "/v1/transfers",
        {"from_account": source, "to_account": destination, "amount": 5, "currency": "eur"},
        **{"Idempotency-Key": "ik-2"},
    )
    row = AuditEvent.objects.get(event_type="transfer.created")
    assert (row.actor_type, row.actor_id, row.idempotency_key) == (
        "api",
        a.secret[:16],
        audit_idempotency_key_digest("ik-2"),
    )
    assert row.merchant_id == a.merchant_id


def test_prune_command_and_beat_task_delete_old_keys(a):
    api = ApiClient(a.secret)
    api.post("/v1/accounts", {"currency": "eur"}, **{"Idempotency-Key": "old"})
    api.post("/v1/accounts", {"currency": "eur"}, **{"Idempotency-Key": "new"})
    IdempotencyKey.objects.filter(key="old").update(created=timezone.now() - timedelta(hours=25))
    out = StringIO()
    call_command("prune_idempotency_keys", stdout=out)
    assert "Deleted 1" in out.getvalue()
    IdempotencyKey.objects.update(created=timezone.now() - timedelta(hours=25))
    assert prune() == 1
    assert not IdempotencyKey.objects.exists()
