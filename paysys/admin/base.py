"""Base classes that keep the admin from writing money objects behind their services.

- ``ServiceOnlyHistoryAdmin``: simple-history's admin with its per-version page made a view.
  simple-history saves a POST to ``<pk>/history/<history_id>/`` through the model's form for
  anyone who may *view* the object (it builds the form without ``change=True`` and never asks
  ``revert_disabled``), which would rewrite a payment, an account or a key with ``obj.save()``.
  Here that page refuses every POST, for superusers too, and reverts are off.
- ``ReadOnlyAdminMixin``: no add, change or delete, and no "delete selected".
- ``NoDeleteMixin``: no delete and no "delete selected", even for a superuser: a money object
  is never deleted (a mistake is undone by a service: a reversal, a revoke, a close).
- ``PermissionActionsMixin``: an action declared ``@admin.action(permissions=["review_payment"])``
  is offered to whoever holds ``<app_label>.review_payment``, a permission the model declares in
  ``Meta.permissions`` (Django looks for ``has_review_payment_permission``; this answers it).
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

DELETE_SELECTED = "delete_selected"


class PermissionActionsMixin:
    def __getattr__(self, name: str):
        # Only reached for attributes the class does not define.
        if name.startswith("has_") and name.endswith("_permission"):
            codename = name.removeprefix("has_").removesuffix("_permission")
            opts = self.model._meta
            if codename in {declared for declared, _ in opts.permissions}:
                return lambda request: request.user.has_perm(f"{opts.app_label}.{codename}")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class NoDeleteMixin:
    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop(DELETE_SELECTED, None)
        return actions


class ReadOnlyAdminMixin(NoDeleteMixin):
    # Counting millions of rows for "N of M" on every page is not worth it.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ServiceOnlyHistoryAdmin(PermissionActionsMixin, NoDeleteMixin, SimpleHistoryAdmin):
    """Every admin of a model with history derives from this one, never from SimpleHistoryAdmin."""

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied("A past version is shown, never saved: changes go through a service.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request: HttpRequest, obj: object = None) -> bool:
        return True


class ServiceOnlyAdmin(PermissionActionsMixin, NoDeleteMixin, admin.ModelAdmin):
    """The same rules for a model without history."""
