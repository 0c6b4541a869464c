"""The admin site operators log in to: password, then a TOTP code from their authenticator.

- An operator with a confirmed TOTP device gives its code on the log-in form, always.
- With ``PAYSYS_ADMIN_OTP_REQUIRED`` (always in production) only an operator verified by a device
  is let in; one who has none yet is sent, after the password, to ``otp_enrol`` (``enrol``), and
  nowhere else, until a first code confirms the device.
- Failed log-ins are counted by django-axes (``AUTHENTICATION_BACKENDS``); the session ends after
  ``SESSION_COOKIE_AGE`` seconds idle (settings).
"""

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django_otp import devices_for_user, user_has_device
from django_otp.admin import OTPAdminAuthenticationForm

from paysys.admin.site import PaysysAdminSite

LOGIN_TEMPLATE = "operators/login.html"
# Where an operator lands after log-in unless they were on their way to another page: the
# dashboard (``paysys/urls.py`` routes it, by name, so the platform imports no app for it).
FIRST_PAGE_URL_NAME = "dashboard"


def otp_required() -> bool:
    return settings.PAYSYS_ADMIN_OTP_REQUIRED


def must_enrol(user) -> bool:
    """A staff operator, logged in by password, who must enrol a device before anything else."""
    return (
        otp_required()
        and user.is_active
        and user.is_staff
        and not user.is_verified()
        and not user_has_device(user, confirmed=True)
    )


class OperatorAuthenticationForm(OTPAdminAuthenticationForm):
    """The password; then the code of the operator's device, whenever they have one."""

    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "token_required": "Enter the code your authenticator shows.",
        "invalid_token": "That code does not match: enter the code your authenticator shows now.",
    }

    def clean(self):
        self.cleaned_data = AdminAuthenticationForm.clean(self)
        user = self.get_user()
        if user is not None and user_has_device(user, confirmed=True):
            self.clean_otp(user)
        return self.cleaned_data

    def _chosen_device(self, user):
        # django-otp asks the form to name the device; an operator has one, their authenticator.
        return next(iter(devices_for_user(user, confirmed=True, for_verify=True)), None)


class OperatorAdminSite(PaysysAdminSite):
    site_header = "paysys back office"
    site_title = "paysys back office"
    login_form = OperatorAuthenticationForm
    login_template = LOGIN_TEMPLATE

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and (not otp_required() or request.user.is_verified())

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if must_enrol(request.user):
            return HttpResponseRedirect(reverse("admin:otp_enrol", current_app=self.name))
        target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
        if target in (None, "", reverse("admin:index", current_app=self.name)):
            extra_context = {**(extra_context or {}), REDIRECT_FIELD_NAME: reverse(FIRST_PAGE_URL_NAME)}
        return super().login(request, extra_context)

    def get_urls(self) -> list:
        from paysys.operators.enrol import otp_enrol

        return [path("otp/enrol/", otp_enrol(self), name="otp_enrol"), *super().get_urls()]
