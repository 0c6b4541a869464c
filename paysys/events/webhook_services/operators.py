"""What operators do to a merchant's webhooks from the back office: re-enable a disabled
endpoint, resend one delivery. Unlike the merchant's own calls (``endpoints``, ``sweep``) these
are not scoped to a tenant: an operator acts on any merchant's endpoint, so each one checks
what a tenant's scope would have guaranteed, refuses with a clear message what the state does
not allow, and writes an audit row with the operator as actor and the reason they gave.

Lock order as in the package: a delivery row, then its endpoint row.
"""

from django.db import transaction
from django.utils import timezone

from paysys.audit.context import ACTOR_OPERATOR
from paysys.audit.services import audit_record
from paysys.errors import ConflictError, InvalidRequestError, NotFoundError
from paysys.events.models import WebhookDelivery, WebhookEndpoint
from paysys.events.webhook_services.dispatch import dispatch_on_commit
from paysys.events.webhook_services.endpoints import endpoint_set_enabled
from paysys.events.webhook_services.sweep import delivery_restart


def _reason_clean(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequestError("An operator's action needs a reason.", param="reason")
    return reason


def _operator_audit(
    *,
    event_type: str,
    object_type: str,
    object_id: str,
    previous_state: str,
    new_state: str,
    merchant_id: str,
    operator_id: str,
    reason: str,
    metadata: dict[str, str],
) -> None:
    audit_record(
        event_type=event_type,
        object_type=object_type,
        object_id=object_id,
        previous_state=previous_state,
        new_state=new_state,
        merchant_id=merchant_id,
        actor_type=ACTOR_OPERATOR,
        actor_id=operator_id,
        metadata={**metadata, "reason": reason},
    )


def webhook_endpoint_reenable(*, endpoint_id: str, operator_id: str, reason: str) -> WebhookEndpoint:
    """Enable a disabled endpoint again (gone, failing, or disabled by an operator or merchant).

    Deliveries abandoned while it was disabled stay abandoned: an operator resends the ones the
    merchant still wants. An enabled endpoint and one the merchant deleted are refused.
    """
    reason = _reason_clean(reason)
    with transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update(of=("self",)).filter(public_id=endpoint_id).first()
        )
        if endpoint is None:
            raise NotFoundError(f"No such webhook endpoint: '{endpoint_id}'", param="id")
        if endpoint.deleted_at is not None:
            raise ConflictError(
                f"Webhook endpoint '{endpoint_id}' was deleted by its merchant; it cannot be enabled.",
                code="webhook_endpoint_deleted",
            )
        if endpoint.status == WebhookEndpoint.Status.ENABLED:
            raise ConflictError(
                f"Webhook endpoint '{endpoint_id}' is not disabled.", code="webhook_endpoint_enabled"
            )
        disabled_reason = endpoint.disabled_reason
        endpoint_set_enabled(endpoint)
        endpoint.save()
        _operator_audit(
            event_type="webhook_endpoint.enabled",
            object_type="webhook_endpoint",
            object_id=endpoint.public_id,
            previous_state=WebhookEndpoint.Status.DISABLED,
            new_state=WebhookEndpoint.Status.ENABLED,
            merchant_id=endpoint.merchant_id,
            operator_id=operator_id,
            reason=reason,
            metadata={"disabled_reason": disabled_reason},
        )
    return endpoint


def webhook_delivery_resend(*, delivery_id: str, operator_id: str, reason: str) -> WebhookDelivery:
    """Send one delivery again now, with a fresh retry schedule and the same ``webhook-id``.

    Refused when its endpoint is disabled (re-enable it first) or deleted, and when its event is
    not the endpoint's merchant's, in the endpoint's mode: an event is never sent elsewhere.
    """
    reason = _reason_clean(reason)
    with transaction.atomic():
        # Waits for an attempt in flight: the resend then starts after it.
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("event")
            .filter(public_id=delivery_id)
            .first()
        )
        if delivery is None:
            raise NotFoundError(f"No such webhook delivery: '{delivery_id}'", param="id")
        endpoint = WebhookEndpoint.objects.select_for_update(of=("self",)).get(pk=delivery.endpoint_id)
        event = delivery.event
        if endpoint.deleted_at is not None:
            raise ConflictError(
                f"Webhook endpoint '{endpoint.public_id}' was deleted by its merchant; nothing is sent.",
                code="webhook_endpoint_deleted",
            )
        if endpoint.status != WebhookEndpoint.Status.ENABLED:
            raise ConflictError(
                f"Webhook endpoint '{endpoint.public_id}' is disabled; re-enable it first.",
                code="webhook_endpoint_disabled",
            )
        if (event.merchant_id, event.livemode) != (endpoint.merchant_id, endpoint.livemode):
            raise ConflictError(
                f"Event '{event.public_id}' does not belong to the merchant and mode of webhook "
                f"endpoint '{endpoint.public_id}'; it is not sent there.",
                code="webhook_delivery_foreign_event",
            )
        previous_status = delivery.status
        delivery_restart(delivery, now=timezone.now())
        _operator_audit(
            event_type="webhook_delivery.resent",
            object_type="webhook_delivery",
            object_id=delivery.public_id,
            previous_state=previous_status,
            new_state=delivery.status,
            merchant_id=endpoint.merchant_id,
            operator_id=operator_id,
            reason=reason,
            metadata={"event": event.public_id, "endpoint": endpoint.public_id},
        )
        dispatch_on_commit([delivery.pk])
    return delivery
