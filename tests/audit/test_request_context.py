"""Through the real middleware stack: one request's audit row and event share its ids."""

import pytest

from paysys.audit.models import AuditEvent
from paysys.audit.services import audit_idempotency_key_digest
from paysys.events.models import Event


@pytest.mark.urls("tests.audit.urls")
@pytest.mark.django_db(transaction=True)
def test_operator_request_stamps_actor_ip_key_and_correlation_on_audit_and_event(admin_client, admin_user):
    response = admin_client.post(
        "/change",
        HTTP_X_CORRELATION_ID="cor_from_upstream",
        HTTP_IDEMPOTENCY_KEY="op-1",
        REMOTE_ADDR="192.0.2.77",
    )
    assert response.status_code == 200
    assert response["X-Correlation-Id"] == "cor_from_upstream"
    row = AuditEvent.objects.get(event_id=response.json()["audit"])
    event = Event.objects.get(public_id=response.json()["event"])
    assert (row.actor_type, row.actor_id) == ("operator", str(admin_user.pk))
    assert row.ip_address == "192.0.2.0"
    assert row.idempotency_key == audit_idempotency_key_digest("op-1")
    assert row.correlation_id == event.correlation_id == "cor_from_upstream"


@pytest.mark.urls("tests.audit.urls")
@pytest.mark.django_db(transaction=True)
def test_anonymous_request_is_audited_as_system_under_its_request_id(client):
    response = client.post("/change")
    row = AuditEvent.objects.get(event_id=response.json()["audit"])
    assert (row.actor_type, row.actor_id) == ("system", "")
    assert row.correlation_id == response["Request-Id"]
    assert row.ip_address == "127.0.0.0"
