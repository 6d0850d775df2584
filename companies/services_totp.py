"""An optional second factor for company users: a TOTP app (RFC 6238) via django-otp.

A user has at most one backend device. It starts unconfirmed (the secret is shown on the
Security page) and becomes the second factor once a code from the app confirms it. Login asks
for a code whenever the user has any confirmed device (platform staff have theirs for the
admin). django-otp throttles wrong codes per device; the views add the per-account limits.
"""

from __future__ import annotations

from base64 import b32encode

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from companies.models import User

BACKEND_DEVICE = "backend"


def totp_device(*, user: User) -> TOTPDevice | None:
    """The user's backend device, confirmed or waiting for its first code."""
    return TOTPDevice.objects.filter(user=user, name=BACKEND_DEVICE).order_by("-pk").first()


def totp_required(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_secret(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it when typed in (base32, no padding)."""
    return b32encode(device.bin_key).decode().rstrip("=")


def totp_setup_start(*, user: User) -> TOTPDevice:
    """A fresh unconfirmed device with a new secret; a confirmed one is never replaced here."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, name=BACKEND_DEVICE, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=BACKEND_DEVICE, confirmed=False)


def totp_confirm(*, user: User, code: str) -> bool:
    """Switch the second factor on if ``code`` comes from the new device's secret."""
    device = TOTPDevice.objects.filter(user=user, name=BACKEND_DEVICE, confirmed=False).first()
    if device is None or not device.verify_token(code):
        return False
    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
    return True


def totp_disable(*, user: User, code: str) -> bool:
    """Switch the second factor off; only with a current code from the confirmed device."""
    device = TOTPDevice.objects.filter(user=user, name=BACKEND_DEVICE, confirmed=True).first()
    if device is None or not device.verify_token(code):
        return False
    TOTPDevice.objects.filter(user=user, name=BACKEND_DEVICE).delete()
    return True


def totp_verify(*, user: User, code: str) -> TOTPDevice | None:
    """The confirmed device that accepts ``code`` at login, or None. A used code cannot be
    used again (django-otp keeps the last accepted time step)."""
    for device in TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk"):
        if device.verify_token(code):
            return device
    return None
