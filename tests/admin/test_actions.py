"""Every admin action is offered only with its permission, asks for confirmation and a reason,
and the reason reaches the audit rows the service writes."""

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import F
from django.urls import reverse

from accounts.models import Adjustment, LedgerAccount
from accounts.overdraft import account_overdraft_set
from merchants.models import ApiKey, Merchant
from merchants.services import merchant_suspend
from payments.models import Dispute, Payment
from paysys.audit.models import AuditEvent
from paysys.events.models import WebhookDelivery, WebhookEndpoint
from paysys.events.webhook_services import webhook_deliver, webhook_endpoint_disable
from paysys.tenancy import Tenant
from settlements.models import Payout, SettlementBatch, SettlementBreak, SettlementLine
from settlements.services import payout_hold, settlement_batch_reconcile
from tests.admin.conftest import PROJECT_APPS, staff_client

pytestmark = pytest.mark.django_db


def _payment_to_dispute(world):
    return Payment.objects.filter(status="succeeded", disputed=False).order_by("pk").first()


def _wallet(world):
    return LedgerAccount.objects.filter(kind="wallet").order_by("pk").first()


def _overdraft_wallet(world):
    return account_overdraft_set(
        account_id=_wallet(world).pk, allow_negative=True, reason="setup", operator_id="1"
    )


def _suspended_merchant(world):
    return merchant_suspend(merchant_id=world["merchant"].public_id, reason="test")


def _pending_payout(world):
    return Payout.objects.filter(status="pending").order_by("pk").first()


def _held_payout(world):
    payout = _pending_payout(world)
    payout_hold(merchant_id=payout.merchant.public_id, reason="setup")
    return Payout.objects.get(pk=payout.pk)


def _open_break(world):
    """A line altered behind the run's back: reconciliation records the difference."""
    batch = SettlementBatch.objects.get()
    lines = SettlementLine.objects.filter(settlement__batch=batch, type="payment")
    lines.update(amount=F("amount") + 1, gross=F("gross") + 1)
    return settlement_batch_reconcile(batch=batch)[0]


def _failed_delivery(world):
    """A delivery whose attempt was refused (nothing listens at the world's endpoint)."""
    delivery = WebhookDelivery.objects.order_by("pk").first()
    webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    return delivery


def _disabled_endpoint(world):
    merchant = world["merchant"]
    endpoint = WebhookEndpoint.objects.get(merchant_id=merchant.public_id)
    tenant = Tenant(merchant_pk=merchant.pk, merchant_id=merchant.public_id, livemode=endpoint.livemode)
    return webhook_endpoint_disable(tenant=tenant, endpoint_id=endpoint.public_id)


# (model, action, permission, the object it acts on, its state after the action)
ACTIONS = [
    (Payment, "approve_review", "payments.review_payment", lambda w: w["review"], lambda o: o.status),
    (Payment, "decline_review", "payments.review_payment", lambda w: w["review"], lambda o: o.status),
    (Payment, "cancel", "payments.cancel_payment", lambda w: w["review"], lambda o: o.status),
    (Payment, "open_dispute", "payments.dispute_payment", _payment_to_dispute, lambda o: o.disputed),
    (Dispute, "close_won", "payments.close_dispute", lambda w: Dispute.objects.get(), lambda o: o.status),
    (Dispute, "close_lost", "payments.close_dispute", lambda w: Dispute.objects.get(), lambda o: o.status),
    (Merchant, "activate", "merchants.activate_merchant", _suspended_merchant, lambda o: o.status),
    (Merchant, "suspend", "merchants.suspend_merchant", lambda w: w["merchant"], lambda o: o.status),
    (Merchant, "close", "merchants.close_merchant", lambda w: w["merchant"], lambda o: o.status),
    (ApiKey, "revoke", "merchants.revoke_apikey", lambda w: w["key"], lambda o: o.revoked_at),
    (ApiKey, "rotate", "merchants.rotate_apikey", lambda w: w["key"], lambda o: o.expires_at),
    (LedgerAccount, "allow_overdraft", "accounts.set_overdraft", _wallet, lambda o: o.allow_negative),
    (
        SettlementBatch,
        "rerun",
        "settlements.run_settlement",
        lambda w: SettlementBatch.objects.get(),
        lambda o: o.runs,
    ),
    (
        SettlementBreak,
        "resolve",
        "settlements.resolve_settlementbreak",
        _open_break,
        lambda o: o.resolved_at,
    ),
    (Payout, "hold_payouts", "settlements.hold_payout", _pending_payout, lambda o: o.status),
    (Payout, "release_payouts", "settlements.hold_payout", _held_payout, lambda o: o.status),
    (
        LedgerAccount,
        "withdraw_overdraft",
        "accounts.set_overdraft",
        _overdraft_wallet,
        lambda o: o.allow_negative,
    ),
    (Adjustment, "approve", "accounts.approve_adjustment", lambda w: w["adjustment"], lambda o: o.status),
    (Adjustment, "reject", "accounts.approve_adjustment", lambda w: w["adjustment"], lambda o: o.status),
    (
        WebhookEndpoint,
        "reenable",
        "events.reenable_webhookendpoint",
        _disabled_endpoint,
        lambda o: o.status,
    ),
    (WebhookDelivery, "resend", "events.resend_webhookdelivery", _failed_delivery, lambda o: o.status),
]
# A break's target alters a settlement line on purpose: verify_ledger fails while it is open.
PARAMS = [
    pytest.param(
        *row,
        id=f"{row[0].__name__}.{row[1]}",
        marks=[pytest.mark.ledger_corrupted] if row[0] is SettlementBreak else [],
    )
    for row in ACTIONS
]
VIEW_PERMS = [
    "payments.view_payment",
    "payments.view_dispute",
    "merchants.view_merchant",
    "merchants.view_apikey",
    "accounts.view_ledgeraccount",
    "accounts.view_adjustment",
    "settlements.view_settlementbatch",
    "settlements.view_payout",
    "settlements.view_settlementbreak",
    "events.view_webhookendpoint",
    "events.view_webhookdelivery",
]


def test_every_admin_action_declares_a_permission_and_is_tested_here():
    tested = {(model, action) for model, action, *_ in ACTIONS}
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in PROJECT_APPS:
            continue  # Django's and django-celery-beat's own admins
        for name in model_admin.actions or ():
            func = getattr(model_admin, name) if isinstance(name, str) else name
            assert getattr(func, "allowed_permissions", None), f"{model.__name__}.{func.__name__}"
            assert (model, func.__name__) in tested, f"{model.__name__}.{func.__name__} has no test here"


def _offered(page) -> set[str]:
    action_form = page.context["action_form"]  # None when no action is offered at all
    return {name for name, _ in action_form.fields["action"].choices} if action_form else set()


def _changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def _state(model, pk, state):
    return state(model.objects.get(pk=pk))


def _reasoned_rows(reason: str):
    return AuditEvent.objects.filter(metadata__reason=reason)


@pytest.mark.parametrize(("model", "action", "perm", "target", "state"), PARAMS)
def test_without_its_permission_the_action_is_not_offered_and_a_crafted_post_does_nothing(
    world, model, action, perm, target, state
):
    client, _ = staff_client(username="support", perms=VIEW_PERMS)
    obj = target(world)
    page = client.get(_changelist(model))
    assert page.status_code == 200
    assert action not in _offered(page)
    before = _state(model, obj.pk, state)
    reason = f"crafted {action}"
    response = client.post(
        _changelist(model),
        {"action": action, ACTION_CHECKBOX_NAME: [obj.pk], "confirm": "yes", "reason": reason},
    )
    assert response.status_code in {200, 302}
    assert _state(model, obj.pk, state) == before
    assert not _reasoned_rows(reason).exists()


@pytest.mark.parametrize(("model", "action", "perm", "target", "state"), PARAMS)
def test_with_its_permission_the_action_confirms_requires_a_reason_and_audits_it(
    world, model, action, perm, target, state
):
    client, user = staff_client(username="operator", perms=[*VIEW_PERMS, perm])
    obj = target(world)
    page = client.get(_changelist(model))
    assert action in _offered(page)
    before = _state(model, obj.pk, state)
    selected = {"action": action, ACTION_CHECKBOX_NAME: [obj.pk]}

    confirmation = client.post(_changelist(model), selected)
    assert confirmation.status_code == 200
    assert confirmation.templates[0].name == "admin/action_confirmation.html"
    assert b'name="reason"' in confirmation.content and str(obj).encode() in confirmation.content
    assert _state(model, obj.pk, state) == before

    empty = client.post(_changelist(model), {**selected, "confirm": "yes", "reason": "   "})
    assert empty.status_code == 200
    assert empty.context["form"].errors["reason"]
    assert _state(model, obj.pk, state) == before

    reason = f"ticket 4711: {action} asked by the merchant"
    done = client.post(_changelist(model), {**selected, "confirm": "yes", "reason": reason})
    assert done.status_code in {200, 302}
    assert _state(model, obj.pk, state) != before
    rows = list(_reasoned_rows(reason))
    assert rows, "the reason reached no audit row"
    assert {(row.actor_type, row.actor_id) for row in rows} == {("operator", str(user.pk))}
