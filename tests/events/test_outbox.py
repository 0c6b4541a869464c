"""The outbox: an event exists exactly when its transaction commits, and is announced once,
after the commit."""

import pytest
from django.db import transaction

from paysys.correlation import correlation_scope
from paysys.errors import NotFoundError
from paysys.events.models import Event
from paysys.events.selectors import event_get, event_list
from paysys.events.services import event_committed, event_emit
from paysys.tenancy import Tenant


class _Boom(Exception):
    pass


def _payment(pid: str = "pay_test1") -> dict:
    return {"object": {"id": pid, "object": "payment", "amount": 1050, "currency": "eur"}}


@pytest.fixture
def dispatched():
    """Collect every event the dispatch hook announces, and whether a transaction was open."""
    seen: list[tuple[str, bool]] = []

    def receiver(sender, event, **kwargs):
        seen.append((event.public_id, transaction.get_connection().in_atomic_block))

    event_committed.connect(receiver, dispatch_uid="test_outbox_receiver")
    yield seen
    event_committed.disconnect(dispatch_uid="test_outbox_receiver")


@pytest.mark.django_db(transaction=True)
def test_event_in_rolled_back_transaction_does_not_exist_and_is_not_dispatched(dispatched):
    with pytest.raises(_Boom), transaction.atomic(durable=True):
        event = event_emit(
            event_type="payment.captured", merchant_id="mer_a", object_type="payment", data=_payment()
        )
        raise _Boom

    assert not Event.objects.filter(public_id=event.public_id).exists()
    assert dispatched == []


@pytest.mark.django_db(transaction=True)
def test_committed_event_invokes_dispatch_hook_once_after_commit(dispatched):
    with transaction.atomic(durable=True):
        event = event_emit(
            event_type="payment.captured", merchant_id="mer_a", object_type="payment", data=_payment()
        )
        assert dispatched == []  # nothing leaves before the commit

    assert dispatched == [(event.public_id, False)]


@pytest.mark.django_db(transaction=True)
def test_event_survives_when_a_dispatch_receiver_fails(dispatched):
    def failing(sender, event, **kwargs):
        raise RuntimeError("broker down")

    event_committed.connect(failing, dispatch_uid="test_outbox_failing")
    try:
        with transaction.atomic(durable=True):
            event = event_emit(
                event_type="payment.failed", merchant_id="mer_a", object_type="payment", data=_payment()
            )
    finally:
        event_committed.disconnect(dispatch_uid="test_outbox_failing")

    assert Event.objects.filter(public_id=event.public_id).exists()
    assert dispatched == [(event.public_id, False)]


@pytest.mark.django_db(transaction=True)
def test_emit_without_any_receiver_is_a_no_op_after_commit():
    with transaction.atomic(durable=True):
        event = event_emit(
            event_type="payout.paid", merchant_id=None, object_type="payout", data={"object": {}}
        )
    stored = Event.objects.get(pk=event.pk)
    assert stored.merchant_id == ""
    assert stored.object_id == ""


@pytest.mark.django_db
def test_event_carries_public_id_object_id_and_correlation_id(django_assert_num_queries):
    with correlation_scope("cor_outbox"), django_assert_num_queries(1):
        event = event_emit(
            event_type="payment.captured", merchant_id="mer_a", object_type="payment", data=_payment("pay_x")
        )
    stored = Event.objects.get(pk=event.pk)
    assert stored.public_id.startswith("evt_")
    assert stored.object_id == "pay_x"
    assert stored.correlation_id == "cor_outbox"
    assert stored.data == _payment("pay_x")
    assert stored.livemode is False


def _tenant(merchant_id: str, *, livemode: bool = False) -> Tenant:
    return Tenant(merchant_pk=None, merchant_id=merchant_id, livemode=livemode)


@pytest.mark.django_db
def test_event_get_hides_other_merchants_events():
    event = event_emit(
        event_type="refund.succeeded", merchant_id="mer_a", object_type="refund", data=_payment()
    )
    assert event_get(event_id=event.public_id, tenant=_tenant("mer_a")) == event
    with pytest.raises(NotFoundError):
        event_get(event_id=event.public_id, tenant=_tenant("mer_b"))
    with pytest.raises(NotFoundError):  # the same merchant's live-mode key
        event_get(event_id=event.public_id, tenant=_tenant("mer_a", livemode=True))
    with pytest.raises(NotFoundError):
        event_get(event_id="evt_missing")


@pytest.mark.django_db
def test_event_list_is_newest_first_and_filters():
    first = event_emit(
        event_type="payment.captured", merchant_id="mer_a", object_type="payment", data=_payment()
    )
    second = event_emit(
        event_type="refund.succeeded", merchant_id="mer_a", object_type="refund", data=_payment()
    )
    event_emit(event_type="payment.captured", merchant_id="mer_b", object_type="payment", data=_payment())

    assert list(event_list(tenant=_tenant("mer_a"))) == [second, first]
    assert list(event_list(tenant=_tenant("mer_a"), types=["payment.captured"])) == [first]
    assert list(event_list(tenant=_tenant("mer_a"), created_gte=second.created)) == [second]
    assert list(event_list(tenant=_tenant("mer_a", livemode=True))) == []


@pytest.mark.django_db
def test_events_are_read_only_in_the_admin(admin_client):
    from django.urls import reverse

    event = event_emit(
        event_type="payment.captured", merchant_id="mer_a", object_type="payment", data=_payment()
    )
    other = event_emit(
        event_type="payment.captured", merchant_id="mer_b", object_type="payment", data=_payment()
    )
    changelist = admin_client.get(reverse("admin:events_event_changelist"), {"merchant": "mer_a"})
    assert list(changelist.context["cl"].result_list) == [event]
    assert other not in changelist.context["cl"].result_list
    assert admin_client.get(reverse("admin:events_event_change", args=[event.pk])).status_code == 200
    assert admin_client.get(reverse("admin:events_event_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:events_event_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert "delete_selected" not in changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request)
