"""Operators for tests: a staff user in a role's group with a confirmed TOTP device, and the
code that device shows now (what the operator's authenticator app would show)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "operator-pw-for-tests-only-4e9"


def operator_create(role: str, username: str | None = None):
    """A staff operator in ``role``'s group (made by the roles migration) with an enrolled device."""
    user = get_user_model().objects.create_user(
        username or f"{role}-operator", f"{role}@example.com", PASSWORD, is_staff=True
    )
    user.groups.add(Group.objects.get(name=role))
    TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return user


def totp_code(user) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"
