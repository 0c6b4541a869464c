"""Operators can read the audit log in the admin, filter it, and change nothing."""

import pytest
from django.urls import reverse

from paysys.audit.context import ACTOR_API, ACTOR_OPERATOR, actor_scope
from paysys.audit.models import AuditEvent
from paysys.audit.services import audit_record


@pytest.fixture
def rows():
    with actor_scope(actor_type=ACTOR_API, actor_id="key_a"):
        a = audit_record(
            event_type="payment.captured", object_type="payment", object_id="pay_aaa", merchant_id="mer_a"
        )
    with actor_scope(actor_type=ACTOR_OPERATOR, actor_id="1"):
        b = audit_record(
            event_type="merchant.suspended", object_type="merchant", object_id="mer_b", merchant_id="mer_b"
        )
    return a, b


def _changelist(admin_client, **params):
    response = admin_client.get(reverse("admin:audit_auditevent_changelist"), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.django_db
def test_audit_changelist_filters_by_merchant_object_actor_and_type(admin_client, rows):
    a, b = rows
    assert _changelist(admin_client) == [b, a]
    assert _changelist(admin_client, merchant="mer_a") == [a]
    assert _changelist(admin_client, object="mer_b") == [b]
    assert _changelist(admin_client, actor_type__exact=ACTOR_OPERATOR) == [b]
    assert _changelist(admin_client, event_type="payment.captured") == [a]
    assert _changelist(admin_client, object_type="payment", merchant="mer_b") == []
    assert _changelist(admin_client, q=a.event_id) == [a]


@pytest.mark.django_db
def test_audit_search_finds_the_rows_of_an_idempotency_key_stored_as_its_digest(admin_client, rows):
    with actor_scope(actor_type=ACTOR_API, actor_id="key_a", idempotency_key="order-77/retry"):
        keyed = audit_record(event_type="refund.created", object_type="refund", object_id="re_1")
    assert keyed.idempotency_key != "order-77/retry"
    assert _changelist(admin_client, q="order-77/retry") == [keyed]
    assert _changelist(admin_client, q="order-77/retry", actor_type__exact=ACTOR_OPERATOR) == []


@pytest.mark.django_db
def test_audit_rows_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, rows):
    a, _ = rows
    assert admin_client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    change_url = reverse("admin:audit_auditevent_change", args=[a.pk])
    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # a view-only page
    assert admin_client.post(change_url, {"event_type": "forged"}).status_code == 403
    assert (
        admin_client.post(reverse("admin:audit_auditevent_delete", args=[a.pk]), {"post": "yes"}).status_code
        == 403
    )
    response = admin_client.get(reverse("admin:audit_auditevent_changelist"))
    assert "delete_selected" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)
    assert AuditEvent.objects.get(pk=a.pk).event_type == "payment.captured"
