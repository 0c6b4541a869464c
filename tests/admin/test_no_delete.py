"""No money object is deleted through the admin, by anyone: a mistake is undone by a service."""

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from tests.admin.conftest import PROJECT_APPS

pytestmark = pytest.mark.django_db

MONEY_MODELS = {
    "payments.Payment",
    "payments.Refund",
    "payments.Dispute",
    "payments.PaymentMethod",
    "accounts.LedgerAccount",
    "accounts.JournalTransaction",
    "accounts.Entry",
    "accounts.Hold",
    "accounts.Adjustment",
    "accounts.Transfer",
    "accounts.LedgerVerification",
    "merchants.Merchant",
    "merchants.ApiKey",
    "events.Event",
    "audit.AuditEvent",
}


def _project_admins():
    return [(m, a) for m, a in admin.site._registry.items() if m._meta.app_label in PROJECT_APPS]


def test_the_money_models_are_in_the_admin():
    registered = {f"{m._meta.app_label}.{m.__name__}" for m, _ in _project_admins()}
    assert registered >= MONEY_MODELS


def test_nothing_of_the_project_is_deleted_in_the_admin_even_by_a_superuser(world, superuser_client):
    client, _ = superuser_client
    for model, model_admin in _project_admins():
        obj = model.objects.order_by("pk").first()
        assert obj is not None, f"the world has no {model.__name__}"
        name = f"{model._meta.app_label}_{model._meta.model_name}"
        changelist = client.get(reverse(f"admin:{name}_changelist"))
        assert changelist.status_code == 200, model.__name__
        assert "delete_selected" not in model_admin.get_actions(changelist.wsgi_request), model.__name__
        assert not model_admin.has_delete_permission(changelist.wsgi_request, obj), model.__name__
        assert client.get(reverse(f"admin:{name}_delete", args=[obj.pk])).status_code == 403, model.__name__
        assert client.post(reverse(f"admin:{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
        client.post(
            reverse(f"admin:{name}_changelist"),
            {"action": "delete_selected", ACTION_CHECKBOX_NAME: [obj.pk], "post": "yes"},
        )
        assert model.objects.filter(pk=obj.pk).exists(), model.__name__
