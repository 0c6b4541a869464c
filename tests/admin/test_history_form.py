"""simple-history's per-version page shows a past version and saves nothing, for anyone.

Unguarded, the page builds the model's form for whoever may view the object and saves a POST
with ``obj.save()``: a view-only operator could rewrite a payment, an account or revive a key
around the services, the ledger and the audit log.
"""

from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.forms.models import model_to_dict
from django.urls import reverse

from paysys.admin.base import ServiceOnlyHistoryAdmin

pytestmark = pytest.mark.django_db


class _FormFields(HTMLParser):
    """What a browser would submit from the page's form: every named input, select, textarea."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self.selects: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in {"submit", "checkbox", "file"}:
            self.data[name] = attrs.get("value") or ""
        elif tag == "input" and name and attrs.get("type") == "checkbox" and "checked" in attrs:
            self.data[name] = attrs.get("value") or "on"
        elif tag == "select" and name:
            self._select = name
            self.selects[name] = []
        elif tag == "option" and self._select:
            self.selects[self._select].append(attrs.get("value") or "")
            if "selected" in attrs:
                self.data[self._select] = attrs.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def _history_admins():
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if hasattr(model, "history") and "history_form_view" in dir(model_admin)
    ]


def _tampered(page: str) -> dict[str, str]:
    """The form as shown, with every choice moved to another value (a status, a kind...)."""
    form = _FormFields()
    form.feed(page)
    data = dict(form.data)
    for name, options in form.selects.items():
        others = [o for o in options if o and o != data.get(name)]
        if others:
            data[name] = others[0]
    for name in ("name", "reason", "value", "description"):
        if name in data:
            data[name] = "tampered"
    data["_change_history"] = "1"
    return data


def _snapshot(model, pk):
    obj = model.objects.get(pk=pk)
    return model_to_dict(obj, fields=[f.name for f in model._meta.concrete_fields]), obj.history.count()


def test_every_history_admin_is_the_service_only_one():
    admins = _history_admins()
    assert len(admins) >= 9
    for model, model_admin in admins:
        assert isinstance(model_admin, ServiceOnlyHistoryAdmin), model.__name__


@pytest.mark.parametrize("who", ["viewer", "superuser"])
def test_a_post_to_any_history_form_changes_nothing(world, viewer_client, superuser_client, who):
    client, _ = viewer_client if who == "viewer" else superuser_client
    checked, changed, statuses = [], [], {}
    for model, _ in _history_admins():
        obj = model.objects.order_by("pk").first()
        assert obj is not None, f"the world has no {model.__name__}"
        version = obj.history.order_by("history_id").first()
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_simple_history", args=[obj.pk, version.pk])
        page = client.get(url)
        assert page.status_code == 200, (model.__name__, page.status_code)
        assert b"Revert" not in page.content and b'name="_save"' not in page.content
        before = _snapshot(model, obj.pk)
        response = client.post(url, _tampered(page.content.decode()))
        if _snapshot(model, obj.pk) != before:
            changed.append(model.__name__)
        statuses[model.__name__] = response.status_code
        checked.append(model.__name__)
    assert changed == []
    assert set(statuses.values()) == {403}, statuses
    assert {"Payment", "Refund", "Dispute", "LedgerAccount", "Hold", "Transfer", "ApiKey", "Merchant"} <= set(
        checked
    )


def test_a_revoked_key_is_not_revived_from_its_history(world, viewer_client):
    from merchants.services import api_key_revoke

    client, _ = viewer_client
    key = api_key_revoke(prefix=world["key"].prefix)
    active = key.history.order_by("history_id").first()
    assert active.revoked_at is None
    url = reverse("admin:merchants_apikey_simple_history", args=[key.pk, active.pk])
    form = _FormFields()
    form.feed(client.get(url).content.decode())
    response = client.post(url, {**form.data, "revoked_at": ""})
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert response.status_code == 403
