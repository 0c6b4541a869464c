"""An operator enrols their authenticator: a QR code of a new TOTP key, then a first code.

Open to a staff operator with no confirmed device (and to nobody else: a second device is
added by an admin, after removing the first, never by whoever holds a password). The key is
created unconfirmed on the first visit and shown until a code from it confirms it; the
confirming code also verifies this session.
"""

from base64 import b32encode

import segno
from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

ENROL_TEMPLATE = "operators/otp_enrol.html"
DEVICE_NAME = "authenticator"


class FirstCodeForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\d{6}$",
        label="Code shown by your authenticator",
        error_messages={"invalid": "Enter the 6 digits your authenticator shows."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def otp_enrol(site: admin.AdminSite):
    @never_cache
    def view(request: HttpRequest) -> HttpResponse:
        user = request.user
        index = reverse("admin:index", current_app=site.name)
        if not (user.is_active and user.is_staff):
            return HttpResponseRedirect(
                reverse("admin:login", current_app=site.name) + f"?next={request.path}"
            )
        if user_has_device(user, confirmed=True):
            messages.info(request, "You have an authenticator already.")
            return HttpResponseRedirect(index)
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, confirmed=False, defaults={"name": DEVICE_NAME}
        )
        form = FirstCodeForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                form.add_error(
                    "code", "Too many wrong codes: wait a few seconds, then enter the current one."
                )
            elif device.verify_token(form.cleaned_data["code"]):
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                otp_login(request, device)
                messages.success(request, "Your authenticator is set up: log-ins now ask for its code.")
                return HttpResponseRedirect(index)
            else:
                form.add_error(
                    "code", "That code does not match: check your authenticator's clock and try again."
                )
        context = {
            **site.each_context(request),
            "title": "Set up your authenticator",
            "form": form,
            "qr_svg": segno.make(device.config_url, error="m").svg_inline(scale=5),
            "manual_key": b32encode(device.bin_key).decode(),
        }
        return TemplateResponse(request, ENROL_TEMPLATE, context)

    return view
