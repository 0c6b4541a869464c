"""Onboarding a merchant and creating an API key from the admin, each through its service.

- The merchant's "add" page (``merchants.add_merchant``, the admin role) takes a name, an e-mail,
  a default currency, an optional platform merchant and a reason, and calls ``merchant_onboard``
  (as ``manage.py create_merchant`` does): a ``pending`` merchant with the default fee plan,
  activated afterwards by the "Activate" action.
- The API key's "add" page (``merchants.add_apikey``, the admin role; linked from a merchant's
  page) takes the merchant's id, scope, mode, a name and a reason, and calls ``api_key_create``.
  Its answer shows the new secret once, with ``Cache-Control: no-store``; the secret is never put
  in a message (the session is stored in the database) and no page shows it again. Since that
  answer cannot be a redirect, each form carries a one-time token (kept in the session, it is no
  secret): a reload that resends the POST finds it spent and creates no second key.

Each write runs in the view's transaction inside the operator's actor scope, so its audit row
names the operator and the reason. A service's refusal comes back on the form; nothing is saved.
"""

import secrets

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from merchants.models import ApiKey
from merchants.services import api_key_create, merchant_onboard
from paysys.admin.actions import ActionReasonForm, operator_scope
from paysys.errors import PaysysError

ONBOARD_PERMISSION = "merchants.add_merchant"
KEY_CREATE_PERMISSION = "merchants.add_apikey"
ONBOARD_TEMPLATE = "admin/merchants/merchant/onboard.html"
KEY_CREATE_TEMPLATE = "admin/merchants/apikey/create.html"
# The session's list of the key forms' unspent one-time tokens (the last few forms opened).
KEY_FORM_TOKENS = "merchants.api_key_create.tokens"
KEY_FORM_TOKENS_KEPT = 10
KEY_FORM_SPENT = (
    "This form was already sent and its key created (see the key list); open the form again to "
    "create another key."
)


def secret_shown_once(response: HttpResponse) -> HttpResponse:
    """A response that shows a secret: no browser or proxy may keep a copy of it."""
    response["Cache-Control"] = "no-store"
    return response


class OnboardForm(ActionReasonForm):
    name = forms.CharField(max_length=200)
    email = forms.CharField(label="E-mail", max_length=254)
    default_currency = forms.CharField(
        max_length=3, initial="EUR", help_text="ISO 4217, upper case: the ledger accounts' currency."
    )
    platform = forms.CharField(
        required=False,
        max_length=40,
        help_text="Optional: the platform merchant's id (mer_…) this merchant is connected to.",
    )
    field_order = ["name", "email", "default_currency", "platform", "reason"]
    # The service's name of a parameter, where it differs from the field's.
    param_fields = {"currency": "default_currency"}


class ApiKeyCreateForm(ActionReasonForm):
    merchant = forms.CharField(max_length=40, help_text="The merchant's id, mer_…")
    scope = forms.ChoiceField(choices=ApiKey.Scope.choices, initial=ApiKey.Scope.WRITE)
    mode = forms.ChoiceField(choices=ApiKey.Mode.choices, initial=ApiKey.Mode.TEST)
    name = forms.CharField(max_length=100, required=False, help_text="Optional: what the key is for.")
    once = forms.CharField(widget=forms.HiddenInput)
    field_order = ["merchant", "scope", "mode", "name", "reason"]


def _key_form_token_issue(request: HttpRequest) -> str:
    token = secrets.token_urlsafe(16)
    kept = request.session.get(KEY_FORM_TOKENS, [])[-(KEY_FORM_TOKENS_KEPT - 1) :]
    request.session[KEY_FORM_TOKENS] = [*kept, token]
    return token


def _key_form_token_unspent(request: HttpRequest, token: str) -> bool:
    return token in request.session.get(KEY_FORM_TOKENS, [])


def _key_form_token_spend(request: HttpRequest, token: str) -> None:
    request.session[KEY_FORM_TOKENS] = [t for t in request.session.get(KEY_FORM_TOKENS, []) if t != token]


def _refused(form: forms.Form, exc: PaysysError) -> None:
    """The service's message on the field it names, else on the form."""
    param = getattr(form, "param_fields", {}).get(exc.param, exc.param)
    field = param if param in form.fields else None
    form.add_error(field, exc.message)


def _page(modeladmin: admin.ModelAdmin, request: HttpRequest, template: str, **context) -> TemplateResponse:
    return TemplateResponse(
        request,
        template,
        {**modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta, **context},
    )


def merchant_onboard_view(modeladmin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(ONBOARD_PERMISSION):
        raise PermissionDenied("Onboarding a merchant needs the add-merchant permission.")
    form = OnboardForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic(), operator_scope(request, data["reason"]):
                merchant = merchant_onboard(
                    name=data["name"],
                    email=data["email"],
                    default_currency=data["default_currency"],
                    platform_id=data["platform"] or None,
                )
        except PaysysError as exc:
            _refused(form, exc)
        else:
            modeladmin.message_user(request, f"Merchant {merchant.public_id} onboarded (pending).")
            return HttpResponseRedirect(reverse("admin:merchants_merchant_change", args=[merchant.pk]))
    return _page(modeladmin, request, ONBOARD_TEMPLATE, title="Onboard a merchant", form=form)


def api_key_create_view(modeladmin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(KEY_CREATE_PERMISSION):
        raise PermissionDenied("Creating an API key needs the add-API-key permission.")
    if request.method == "POST":
        form = ApiKeyCreateForm(request.POST)
    else:
        form = ApiKeyCreateForm(
            initial={"merchant": request.GET.get("merchant", ""), "once": _key_form_token_issue(request)}
        )
    if form.is_valid() and not _key_form_token_unspent(request, form.cleaned_data["once"]):
        form.add_error(None, KEY_FORM_SPENT)
    elif form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic(), operator_scope(request, data["reason"]):
                key, secret = api_key_create(
                    merchant_id=data["merchant"].strip(),
                    scope=data["scope"],
                    mode=data["mode"],
                    name=data["name"],
                )
        except PaysysError as exc:
            _refused(form, exc)
        else:
            _key_form_token_spend(request, data["once"])
            page = _page(
                modeladmin,
                request,
                KEY_CREATE_TEMPLATE,
                title=f"API key {key.prefix} created",
                key=key,
                secret=secret,
                key_url=reverse("admin:merchants_apikey_change", args=[key.pk]),
                merchant_url=reverse("admin:merchants_merchant_change", args=[key.merchant.pk]),
            )
            return secret_shown_once(page)
    return _page(modeladmin, request, KEY_CREATE_TEMPLATE, title="Create an API key", form=form)
