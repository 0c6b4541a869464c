"""An admin operator resends a failed webhook delivery in a real browser (``operator_page``:
Debian's Chromium, the admin's log-in with the second factor): from the merchant's endpoint to
its failed delivery, the resend confirmed with a reason, the worker's new attempt on the page.

The merchant's server (``tests.webhooks.receiver``) first answers 500, then 200. The resend's
Celery message goes to this test's own queue, and the test plays the worker that takes it.
"""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from paysys.audit.models import AuditEvent
from paysys.events.models import WebhookAttempt, WebhookDelivery
from paysys.events.webhook_services import (
    RESULT_DELIVERED,
    RESULT_RETRY_SCHEDULED,
    webhook_deliver,
    webhook_endpoint_create,
)
from paysys.ids import new_id
from paysys.operators.roles import ADMIN
from tests.webhooks.conftest import emit, queued_delivery_ids

# The webhook tests' fixtures: this test's own queue, the merchant's server.
from tests.webhooks.conftest import queue as queue
from tests.webhooks.conftest import receiver as receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

REASON = "ticket 311: the merchant fixed their server"


def test_admin_resends_a_failed_delivery_and_sees_the_new_attempt(
    operator_page,
    screenshot,
    settings,
    queue,
    receiver,
):
    settings.PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    merchant_id = new_id("mer")
    endpoint = webhook_endpoint_create(
        merchant_id=merchant_id, url=receiver.url, enabled_events=["*"]
    ).endpoint
    receiver.status = 500
    event = emit(merchant_id)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert webhook_deliver(delivery_id=delivery.pk) == RESULT_RETRY_SCHEDULED
    receiver.status = 200
    client, name = queue
    client.delete(name)

    page = operator_page(ADMIN)
    page.goto("/admin/events/webhookendpoint/")
    row = page.locator("tr", has_text=endpoint.public_id)
    expect(row).to_contain_text(receiver.url)
    screenshot(page, "endpoints")
    row.get_by_role("link", name="failed").click()

    delivery_row = page.locator("#result_list tr", has_text=delivery.public_id)
    expect(delivery_row).to_contain_text("Failed")
    delivery_row.locator("input.action-select").check()
    page.select_option("select[name=action]", "resend")
    page.click("button[name=index]")
    expect(page.locator("textarea[name=reason]")).to_be_visible()
    page.fill("textarea[name=reason]", REASON)
    screenshot(page, "confirm")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist .success")).to_contain_text("Deliveries queued again: 1.")
    expect(page.locator("#result_list tr", has_text=delivery.public_id)).to_contain_text("Pending")
    screenshot(page, "queued")

    # The worker takes the message the resend queued and delivers it.
    assert queued_delivery_ids(client, name) == [[delivery.pk]]
    assert webhook_deliver(delivery_id=delivery.pk) == RESULT_DELIVERED

    page.locator("#result_list a", has_text=delivery.public_id).click()
    attempts = page.locator("#delivery-attempts tbody tr")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0)).to_contain_text("succeeded")
    expect(attempts.nth(0)).to_contain_text("200")
    expect(attempts.nth(1)).to_contain_text("500")
    screenshot(page, "delivered")

    # The endpoint's page: its delivery log, the secret nowhere.
    page.get_by_role("link", name=endpoint.public_id).click()
    log = page.locator("#endpoint-deliveries tbody tr", has_text=delivery.public_id)
    expect(log).to_contain_text("succeeded")
    screenshot(page, "endpoint")
    assert "whsec_" not in page.content()

    assert receiver.ids() == [event.public_id, event.public_id]
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2
    operator = get_user_model().objects.get(groups__name=ADMIN)
    row = AuditEvent.objects.get(object_id=delivery.public_id, event_type="webhook_delivery.resent")
    assert (row.actor_type, row.actor_id, row.metadata["reason"]) == ("operator", str(operator.pk), REASON)
