"""The audit context: who acts, from where, under which key; and how rows pick it up."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from simple_history.signals import pre_create_historical_record

from paysys.audit.context import (
    ACTOR_API,
    ACTOR_OPERATOR,
    ACTOR_SYSTEM,
    actor_get,
    actor_scope,
    actor_set,
    ip_mask,
)
from paysys.audit.history import history_record_stamp
from paysys.audit.middleware import AuditActorMiddleware
from paysys.audit.services import audit_idempotency_key_digest, audit_record
from paysys.correlation import correlation_scope


@pytest.mark.parametrize(
    ("ip", "masked"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("10.1.2.255", "10.1.2.0"),
        ("2001:db8:abcd:12:3456:789a:bcde:f012", "2001:db8:abcd::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        ("not-an-ip", None),
        ("", None),
        (None, None),
    ],
)
def test_ip_is_masked_to_its_network(ip, masked):
    assert ip_mask(ip) == masked


def test_without_a_scope_the_actor_is_the_system():
    actor = actor_get()
    assert (actor.actor_type, actor.actor_id, actor.ip) == (ACTOR_SYSTEM, None, None)


def test_actor_scopes_nest_and_restore():
    with actor_scope(actor_type=ACTOR_API, actor_id="key_ab12", ip="192.0.2.5", idempotency_key="k1"):
        assert actor_get().ip == "192.0.2.0"
        with actor_scope(actor_type=ACTOR_OPERATOR, actor_id="3"):
            assert (actor_get().actor_type, actor_get().actor_id) == (ACTOR_OPERATOR, "3")
        assert actor_get().idempotency_key == "k1"
    assert actor_get().actor_type == ACTOR_SYSTEM


def test_unknown_actor_type_is_refused():
    with pytest.raises(ValueError, match="actor_type"), actor_scope(actor_type="robot", actor_id=None):
        pass


@pytest.mark.django_db
def test_audit_row_takes_actor_ip_key_and_correlation_id_from_context():
    with (
        correlation_scope("cor_ctx"),
        actor_scope(actor_type=ACTOR_API, actor_id="key_ab12", ip="198.51.100.23", idempotency_key="idem-1"),
    ):
        row = audit_record(
            event_type="payment.captured",
            object_type="payment",
            object_id="pay_1",
            previous_state="requires_capture",
            new_state="succeeded",
        )
    row.refresh_from_db()
    assert (row.actor_type, row.actor_id) == (ACTOR_API, "key_ab12")
    assert row.ip_address == "198.51.100.0"
    assert row.idempotency_key == audit_idempotency_key_digest("idem-1")
    assert "idem-1" not in row.idempotency_key
    assert row.correlation_id == "cor_ctx"
    assert (row.previous_state, row.new_state) == ("requires_capture", "succeeded")


@pytest.mark.django_db
def test_explicit_actor_replaces_the_context_actor():
    with actor_scope(actor_type=ACTOR_API, actor_id="key_ab12"):
        row = audit_record(
            event_type="settlement.completed",
            object_type="settlement",
            object_id="set_1",
            actor_type=ACTOR_SYSTEM,
        )
    assert (row.actor_type, row.actor_id) == (ACTOR_SYSTEM, "")


def _request(user, **headers):
    request = RequestFactory().post("/admin/x/", REMOTE_ADDR="203.0.113.9", **headers)
    request.user = user
    return request


def test_middleware_makes_a_staff_user_the_operator_actor():
    seen = []
    staff = SimpleNamespace(is_authenticated=True, is_staff=True, pk=42)
    middleware = AuditActorMiddleware(lambda request: seen.append(actor_get()) or HttpResponse())

    middleware(_request(staff, HTTP_IDEMPOTENCY_KEY="op-key"))
    middleware(_request(AnonymousUser()))

    operator, anonymous = seen
    assert (operator.actor_type, operator.actor_id, operator.ip, operator.idempotency_key) == (
        ACTOR_OPERATOR,
        "42",
        "203.0.113.0",
        "op-key",
    )
    assert (anonymous.actor_type, anonymous.actor_id, anonymous.ip) == (ACTOR_SYSTEM, None, "203.0.113.0")
    assert actor_get().ip is None  # nothing leaks past the request


def test_actor_set_by_api_authentication_lasts_until_the_request_ends():
    seen = []

    def view(request):
        # What the API-key authentication does once it knows the key.
        actor_set(actor_type=ACTOR_API, actor_id="key_zz99")
        seen.append(actor_get())
        return HttpResponse()

    AuditActorMiddleware(view)(_request(AnonymousUser(), HTTP_IDEMPOTENCY_KEY="api-key-1"))
    (api,) = seen
    assert (api.actor_type, api.actor_id, api.ip, api.idempotency_key) == (
        ACTOR_API,
        "key_zz99",
        "203.0.113.0",
        "api-key-1",
    )
    assert actor_get().actor_type == ACTOR_SYSTEM


def test_history_records_name_the_operator_and_the_correlation_id():
    assert pre_create_historical_record.has_listeners()
    record = SimpleNamespace(history_user_id=None, history_change_reason=None)
    with correlation_scope("cor_hist"), actor_scope(actor_type=ACTOR_OPERATOR, actor_id="5"):
        history_record_stamp(sender=None, history_instance=record)
    assert record.history_user_id == 5
    assert record.history_change_reason == "operator:5 cor_hist"


def test_history_records_keep_a_user_and_reason_already_given():
    record = SimpleNamespace(history_user_id=8, history_change_reason="manual fix")
    with actor_scope(actor_type=ACTOR_OPERATOR, actor_id="5"):
        history_record_stamp(sender=None, history_instance=record)
    assert (record.history_user_id, record.history_change_reason) == (8, "manual fix")


def test_history_records_of_api_changes_carry_the_key_in_the_reason():
    record = SimpleNamespace(history_user_id=None, history_change_reason=None)
    with correlation_scope("cor_api"), actor_scope(actor_type=ACTOR_API, actor_id="key_ab12"):
        history_record_stamp(sender=None, history_instance=record)
    assert record.history_user_id is None
    assert record.history_change_reason == "api:key_ab12 cor_api"


@pytest.mark.django_db
def test_the_actors_reason_lands_in_every_row_of_its_scope_and_the_chain_verifies():
    from paysys.audit.models import AuditEvent
    from paysys.audit.selectors import audit_chain_verify

    with actor_scope(actor_type=ACTOR_OPERATOR, actor_id="7", reason="ticket 12: merchant asked"):
        first = audit_record(event_type="merchant.suspended", object_type="merchant", object_id="mer_x")
        own = audit_record(
            event_type="api_key.revoked", object_type="api_key", object_id="sk_x", metadata={"reason": "own"}
        )
    after = audit_record(event_type="merchant.activated", object_type="merchant", object_id="mer_x")
    stored = {row.object_id + row.event_type: row.metadata for row in AuditEvent.objects.all()}
    assert stored[first.object_id + first.event_type] == {"reason": "ticket 12: merchant asked"}
    assert stored[own.object_id + own.event_type] == {"reason": "own"}
    assert stored[after.object_id + after.event_type] == {}
    assert audit_chain_verify().ok
