"""Webhook endpoints and deliveries as operators see them: an endpoint's list row and page with
its latest deliveries (linked, never counted), a delivery's page with its attempts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from paysys.admin.changelist import UncountedChangeList
from paysys.events import admin as events_admin
from paysys.events.models import WebhookDelivery, WebhookEndpoint
from paysys.events.webhook_services import webhook_deliver

pytestmark = pytest.mark.django_db


def _endpoint(world) -> WebhookEndpoint:
    return WebhookEndpoint.objects.get(merchant_id=world["merchant"].public_id)


def test_endpoint_list_shows_merchant_url_status_and_last_delivery(world, viewer_client):
    client, _ = viewer_client
    endpoint = _endpoint(world)
    latest = endpoint.deliveries.order_by("-id").first()
    response = client.get(reverse("admin:events_webhookendpoint_changelist"), {"status": "enabled"})
    assert response.status_code == 200
    assert isinstance(response.context["cl"], UncountedChangeList)
    page = response.content.decode()
    for shown in (endpoint.public_id, endpoint.merchant_id, endpoint.url, latest.status):
        assert shown in page
    assert f"?endpoint={endpoint.public_id}" in page
    assert "Re-enable" not in page  # a viewer is offered no action


def test_endpoint_page_lists_its_latest_deliveries_linked_without_counting_them(
    world, viewer_client, monkeypatch
):
    client, _ = viewer_client
    endpoint = _endpoint(world)
    deliveries = list(endpoint.deliveries.order_by("-id"))
    shown_rows = len(deliveries) - 2
    monkeypatch.setattr(events_admin, "RECENT_ROWS", shown_rows)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:events_webhookendpoint_change", args=[endpoint.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="endpoint-deliveries"' in page
    shown = [d for d in deliveries if reverse("admin:events_webhookdelivery_change", args=[d.pk]) in page]
    assert shown == deliveries[:shown_rows]
    assert f"?endpoint={endpoint.public_id}" in page and "Older deliveries" in page
    assert not [q for q in queries.captured_queries if "count(" in q["sql"].lower()]


def test_delivery_page_shows_each_attempt(world, viewer_client):
    client, _ = viewer_client
    delivery = WebhookDelivery.objects.order_by("pk").first()
    page = client.get(reverse("admin:events_webhookdelivery_change", args=[delivery.pk])).content.decode()
    assert "Not attempted yet." in page
    webhook_deliver(delivery_id=delivery.pk)  # refused: nothing listens there
    page = client.get(reverse("admin:events_webhookdelivery_change", args=[delivery.pk])).content.decode()
    assert 'class="attempt-failed"' in page and "Not attempted yet." not in page
