"""Admin actions that ask first: the operator confirms on an intermediate page and gives a reason.

``@confirmed_action(description=..., permission="review_payment")`` declares the action's
permission (Django offers and runs the action only for whoever holds it: see
``PermissionActionsMixin``) and, like Django's "delete selected", answers the first POST with a
confirmation page listing the selected objects and asking for a reason. The confirmed POST runs
the action inside an actor scope carrying that reason, so every audit row the services write
records it (``metadata["reason"]``). The decorated function receives the queryset and the reason
and calls services, each object on its own; a refusal becomes an error message, not a 500.
"""

import functools
from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from paysys.audit.context import ACTOR_OPERATOR, actor_scope
from paysys.errors import PaysysError

CONFIRMATION_TEMPLATE = "admin/action_confirmation.html"
CONFIRM_FIELD = "confirm"
REASON_MAX_LENGTH = 500


def operator_scope(request: HttpRequest, reason: str | None = None):
    """The actor scope of an operator's write from the admin: every audit row the services write
    inside it names the operator (actor type ``operator``, their user id) and the reason given."""
    return actor_scope(actor_type=ACTOR_OPERATOR, actor_id=str(request.user.pk), reason=reason)


class ActionReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded in the audit log with your name.",
    )


def confirmed_action(*, description: str, permission: str) -> Callable:
    def decorate(func: Callable[[admin.ModelAdmin, HttpRequest, QuerySet, str], HttpResponse | None]):
        @admin.action(description=description, permissions=[permission])
        @functools.wraps(func)
        def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet):
            form = ActionReasonForm(request.POST if CONFIRM_FIELD in request.POST else None)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                with operator_scope(request, reason):
                    return func(modeladmin, request, queryset, reason)
            opts = modeladmin.model._meta
            context = {
                **modeladmin.admin_site.each_context(request),
                "title": f"{description}: are you sure?",
                "description": description,
                "opts": opts,
                "queryset": queryset,
                "form": form,
                "action_name": func.__name__,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "confirm_field": CONFIRM_FIELD,
            }
            return TemplateResponse(request, CONFIRMATION_TEMPLATE, context)

        return action

    return decorate


def each_through(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    service: Callable[[Model], object],
    label: str,
) -> None:
    """Call ``service`` on each selected object; report what was done and what was refused."""
    done = 0
    for obj in queryset.order_by("pk"):
        try:
            service(obj)
            done += 1
        except PaysysError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", level=messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{label}: {done}.", level=messages.SUCCESS)
