"""An operator's webhook jobs (``paysys.events.webhook_services.operators``): resend one delivery,
re-enable a disabled endpoint. Each is audited with the operator and their reason, and refuses
what the state does not allow without changing anything."""

import pytest
from django.utils import timezone

from paysys.audit.models import AuditEvent
from paysys.errors import ConflictError, InvalidRequestError, NotFoundError
from paysys.events import webhook_services as ws
from paysys.events.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from paysys.tenancy import Tenant
from tests.webhooks.conftest import after_commit, emit, queued_delivery_ids

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

OPERATOR = "42"
REASON = "ticket 981: merchant's server was down"


@pytest.fixture
def endpoint(allow_private, receiver, merchant_id) -> WebhookEndpoint:
    return ws.webhook_endpoint_create(
        merchant_id=merchant_id, url=receiver.url, enabled_events=["*"]
    ).endpoint


@pytest.fixture
def failed_delivery(endpoint, merchant_id, receiver, queue) -> WebhookDelivery:
    """A delivery whose one attempt got a 500."""
    receiver.status = 500
    emit(merchant_id)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert ws.webhook_deliver(delivery_id=delivery.pk) == ws.RESULT_RETRY_SCHEDULED
    receiver.status = 200
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    return delivery


def _audit_rows(object_id: str):
    return AuditEvent.objects.filter(object_id=object_id)


def _snapshot(delivery: WebhookDelivery) -> dict:
    return WebhookDelivery.objects.values().get(pk=delivery.pk)


def test_resend_queues_a_failed_delivery_again_and_audits_the_operator_and_reason(
    failed_delivery, receiver, queue
):
    client, name = queue
    client.delete(name)
    with after_commit():
        resent = ws.webhook_delivery_resend(
            delivery_id=failed_delivery.public_id, operator_id=OPERATOR, reason=f"  {REASON} "
        )
    assert (resent.status, resent.attempt_count, resent.completed_at) == ("pending", 0, None)
    assert resent.next_attempt_at is not None
    assert queued_delivery_ids(client, name) == [[failed_delivery.pk]]
    (row,) = _audit_rows(failed_delivery.public_id)
    assert (row.event_type, row.previous_state, row.new_state) == (
        "webhook_delivery.resent",
        "failed",
        "pending",
    )
    assert (row.actor_type, row.actor_id) == ("operator", OPERATOR)
    assert row.metadata["reason"] == REASON
    assert row.metadata["endpoint"] == failed_delivery.endpoint.public_id
    assert row.merchant_id == failed_delivery.endpoint.merchant_id

    assert ws.webhook_deliver(delivery_id=failed_delivery.pk) == ws.RESULT_DELIVERED
    # The same webhook-id both times; the failed attempt stays on record beside the new one.
    assert receiver.ids() == [failed_delivery.event.public_id] * 2
    assert list(
        WebhookAttempt.objects.filter(delivery=failed_delivery)
        .order_by("id")
        .values_list("status_code", flat=True)
    ) == [500, 200]


def test_resend_to_a_disabled_endpoint_is_refused_and_changes_nothing(failed_delivery, merchant_id):
    endpoint = failed_delivery.endpoint
    ws.webhook_endpoint_disable(
        tenant=Tenant(merchant_pk=None, merchant_id=merchant_id, livemode=False),
        endpoint_id=endpoint.public_id,
    )
    before = _snapshot(failed_delivery)
    with pytest.raises(ConflictError, match="disabled; re-enable it first") as refused:
        ws.webhook_delivery_resend(delivery_id=failed_delivery.public_id, operator_id=OPERATOR, reason=REASON)
    assert refused.value.code == "webhook_endpoint_disabled"
    assert _snapshot(failed_delivery) == before
    assert not _audit_rows(failed_delivery.public_id).exists()


def test_resend_to_a_deleted_endpoint_is_refused(failed_delivery):
    WebhookEndpoint.objects.filter(pk=failed_delivery.endpoint_id).update(deleted_at=timezone.now())
    before = _snapshot(failed_delivery)
    with pytest.raises(ConflictError, match="deleted"):
        ws.webhook_delivery_resend(delivery_id=failed_delivery.public_id, operator_id=OPERATOR, reason=REASON)
    assert _snapshot(failed_delivery) == before


@pytest.mark.parametrize("other", ["merchant", "mode"])
def test_resend_of_an_event_that_belongs_elsewhere_is_refused(endpoint, merchant_id, other, queue):
    """A delivery row pairing an endpoint with another merchant's event, or an event of the other
    mode, is never sent (the fan-out never makes one; the service does not trust that)."""
    event = emit("mer_someoneelse" if other == "merchant" else merchant_id)
    if other == "mode":
        type(event).objects.filter(pk=event.pk).update(livemode=True)
    WebhookDelivery.objects.filter(event=event).delete()
    foreign = WebhookDelivery.objects.create(
        event=event, endpoint=endpoint, status="abandoned", next_attempt_at=None
    )
    before = _snapshot(foreign)
    with pytest.raises(ConflictError, match="does not belong") as refused:
        ws.webhook_delivery_resend(delivery_id=foreign.public_id, operator_id=OPERATOR, reason=REASON)
    assert refused.value.code == "webhook_delivery_foreign_event"
    assert _snapshot(foreign) == before
    assert not _audit_rows(foreign.public_id).exists()


def test_resend_needs_a_reason_and_an_existing_delivery(failed_delivery):
    before = _snapshot(failed_delivery)
    with pytest.raises(InvalidRequestError, match="reason"):
        ws.webhook_delivery_resend(delivery_id=failed_delivery.public_id, operator_id=OPERATOR, reason="  ")
    assert _snapshot(failed_delivery) == before
    with pytest.raises(NotFoundError):
        ws.webhook_delivery_resend(delivery_id="whd_missing", operator_id=OPERATOR, reason=REASON)


def test_reenable_enables_a_failing_endpoint_and_leaves_abandoned_deliveries_abandoned(
    endpoint, merchant_id, queue
):
    emit(merchant_id)
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now)
    with after_commit():
        assert ws.webhook_sweep(now=now + ws.WEBHOOK_DISABLE_AFTER).endpoints_disabled == 1
    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.disabled_reason) == ("disabled", "failing")

    enabled = ws.webhook_endpoint_reenable(
        endpoint_id=endpoint.public_id, operator_id=OPERATOR, reason=REASON
    )
    assert (enabled.status, enabled.disabled_reason, enabled.failing_since) == ("enabled", "", None)
    endpoint.refresh_from_db()
    assert endpoint.status == "enabled"
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "abandoned"
    (row,) = _audit_rows(endpoint.public_id)
    assert (row.event_type, row.previous_state, row.new_state) == (
        "webhook_endpoint.enabled",
        "disabled",
        "enabled",
    )
    assert (row.actor_type, row.actor_id, row.metadata["reason"]) == ("operator", OPERATOR, REASON)
    assert row.metadata["disabled_reason"] == "failing"


def test_reenable_refuses_an_enabled_or_deleted_endpoint(endpoint, merchant_id):
    with pytest.raises(ConflictError, match="is not disabled"):
        ws.webhook_endpoint_reenable(endpoint_id=endpoint.public_id, operator_id=OPERATOR, reason=REASON)
    ws.webhook_endpoint_delete(
        tenant=Tenant(merchant_pk=None, merchant_id=merchant_id, livemode=False),
        endpoint_id=endpoint.public_id,
    )
    with pytest.raises(ConflictError, match="deleted by its merchant"):
        ws.webhook_endpoint_reenable(endpoint_id=endpoint.public_id, operator_id=OPERATOR, reason=REASON)
    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.deleted_at is not None) == ("disabled", True)
    assert not _audit_rows(endpoint.public_id).exists()
    with pytest.raises(NotFoundError):
        ws.webhook_endpoint_reenable(endpoint_id="we_missing", operator_id=OPERATOR, reason=REASON)
