"""Each role walks the whole admin: every registered model's changelist and change page, every
action; it sees and does exactly what its group allows (paysys/operators/roles.py)."""

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse
from moneyed import Money

from accounts.adjustments import adjustment_propose
from accounts.models import Adjustment, LedgerAccount
from paysys.audit.models import AuditEvent
from paysys.events.models import WebhookDelivery
from paysys.events.webhook_services import webhook_deliver
from paysys.operators.roles import ADMIN, FINANCE, RISK, ROLE_PERMISSIONS, ROLES, SUPPORT, VIEWED_APPS
from settlements.models import Payout, PayoutHold
from settlements.services import payout_hold
from tests.operators.people import operator_create

STANDARD = {"add", "change", "delete", "view"}


def action_permissions(model, func) -> set[str]:
    opts = model._meta
    return {
        f"{opts.app_label}.{p}_{opts.model_name}" if p in STANDARD else f"{opts.app_label}.{p}"
        for p in getattr(func, "allowed_permissions", ())
    }


def declared_actions(model_admin) -> dict:
    return {name: func for func, name, _ in (model_admin.get_action(a) for a in model_admin.actions)}


def may_view(role: str, model) -> bool:
    return role == ADMIN or model._meta.app_label in VIEWED_APPS


def offered(response) -> set[str]:
    form = response.context.get("action_form") if response.context else None
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_role_sees_and_does_what_its_group_allows(role, world, operator_client):
    client, _ = operator_client(role)
    assert client.get(reverse("admin:index")).status_code == 200
    granted = set(ROLE_PERMISSIONS[role])
    walked = 0
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = client.get(changelist)
        if not may_view(role, model):
            assert response.status_code == 403, changelist
            continue
        assert response.status_code == 200, changelist
        walked += 1
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert client.get(change).status_code == 200, change
        for name, func in declared_actions(model_admin).items():
            allowed = role == ADMIN or action_permissions(model, func) <= granted
            assert (name in offered(response)) == allowed, f"{role}: {changelist} action {name}"
            if allowed or obj is None:
                continue
            # Refused even when posted by hand, confirmed, with a reason: nothing is audited.
            audited = AuditEvent.objects.count()
            client.post(
                changelist,
                {"action": name, ACTION_CHECKBOX_NAME: [obj.pk], "confirm": "1", "reason": "crafted"},
            )
            assert AuditEvent.objects.count() == audited, f"{role} ran {name} on {changelist}"
    assert walked >= 20


def test_support_is_read_only_everywhere(operator_client, operator_roles):
    _, user = operator_client(SUPPORT)
    assert user.get_all_permissions()
    assert all(p.split(".")[1].startswith("view_") for p in user.get_all_permissions())
    assert not user.has_perm("payments.refund_payment")


def test_only_finance_and_admin_may_refund(operator_roles):
    users = {role: operator_create(role) for role in ROLES}
    assert {role for role, user in users.items() if user.has_perm("payments.refund_payment")} == {
        FINANCE,
        ADMIN,
    }


@pytest.mark.slow
def test_risk_cannot_release_a_payout_finance_can(world, operator_client):
    merchant = world["merchant"]
    payout_hold(merchant_id=merchant.public_id, reason="KYC again")
    payout = Payout.objects.filter(merchant=merchant).first()
    changelist = reverse("admin:settlements_payout_changelist")
    release = {"action": "release_payouts", ACTION_CHECKBOX_NAME: [payout.pk], "confirm": "1", "reason": "ok"}

    risk, _ = operator_client(RISK)
    risk.post(changelist, release)
    assert PayoutHold.objects.filter(merchant=merchant, released_at__isnull=True).exists()

    finance, finance_user = operator_client(FINANCE)
    finance.post(changelist, release)
    hold = PayoutHold.objects.get(merchant=merchant, reason="KYC again")
    assert hold.released_at is not None
    assert hold.released_by == str(finance_user.pk)


def test_finance_cannot_approve_its_own_adjustment_another_finance_operator_can(world, operator_roles):
    maker, checker = (operator_create(FINANCE, username=f"finance-{n}") for n in ("maker", "checker"))
    accounts = LedgerAccount.objects.filter(currency="EUR", kind__in=["adjustments", "wallet"]).order_by(
        "kind"
    )
    debit, credit = accounts[0], accounts[1]
    adjustment = adjustment_propose(
        debit_account_id=debit.pk,
        credit_account_id=credit.pk,
        amount=Money("2.00", "EUR"),
        reason="ticket 5",
        operator_id=maker.pk,
    )
    changelist = reverse("admin:accounts_adjustment_changelist")
    approve = {"action": "approve", ACTION_CHECKBOX_NAME: [adjustment.pk], "confirm": "1", "reason": "ok"}
    for user, status in ((maker, "proposed"), (checker, "approved")):
        client = Client()
        client.force_login(user)
        assert client.post(changelist, approve).status_code == 302
        assert Adjustment.objects.get(pk=adjustment.pk).status == status


WEBHOOK_PERMISSIONS = ("events.resend_webhookdelivery", "events.reenable_webhookendpoint")


def test_only_admin_may_resend_webhooks_or_reenable_endpoints(operator_roles):
    users = {role: operator_create(role) for role in ROLES}
    for perm in WEBHOOK_PERMISSIONS:
        assert {role for role, user in users.items() if user.has_perm(perm)} == {ADMIN}, perm
    assert users[SUPPORT].has_perm("events.view_webhookdelivery")
    assert users[SUPPORT].has_perm("events.view_webhookendpoint")


@pytest.mark.parametrize("role", [SUPPORT, RISK, FINANCE])
def test_a_resend_posted_by_another_role_is_refused_admin_resends(role, world, operator_client):
    delivery = WebhookDelivery.objects.order_by("pk").first()
    webhook_deliver(delivery_id=delivery.pk)  # refused: nothing listens at the world's endpoint
    changelist = reverse("admin:events_webhookdelivery_changelist")
    resend = {"action": "resend", ACTION_CHECKBOX_NAME: [delivery.pk], "confirm": "1", "reason": "ticket 9"}

    client, _ = operator_client(role)
    assert "resend" not in offered(client.get(changelist))
    client.post(changelist, resend)
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "failed"
    assert not AuditEvent.objects.filter(object_id=delivery.public_id).exists()

    admin_client, admin_user = operator_client(ADMIN)
    assert "resend" in offered(admin_client.get(changelist))
    assert admin_client.post(changelist, resend).status_code == 302
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "pending"
    row = AuditEvent.objects.get(object_id=delivery.public_id, event_type="webhook_delivery.resent")
    assert (row.actor_type, row.actor_id, row.metadata["reason"]) == (
        "operator",
        str(admin_user.pk),
        "ticket 9",
    )
