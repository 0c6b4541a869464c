"""A test-only route that writes an audit row and an event the way a real view's service does."""

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from paysys.audit.services import audit_record
from paysys.events.services import event_emit


@csrf_exempt
def change_something(request: HttpRequest) -> JsonResponse:
    with transaction.atomic(durable=True):
        row = audit_record(
            event_type="thing.changed", object_type="thing", object_id="thg_1", merchant_id="mer_a"
        )
        event = event_emit(  # an event type paysys sends (paysys.events.types), for a transfer
            event_type="transfer.created",
            merchant_id="mer_a",
            object_type="transfer",
            data={"object": {"id": "tr_1"}},
        )
    return JsonResponse({"audit": row.event_id, "event": event.public_id})


urlpatterns = [path("change", change_something)]
