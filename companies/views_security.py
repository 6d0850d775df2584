"""The Security page under /backend/security/: an optional TOTP second factor (AU-5).

Switching it on shows the secret and the otpauth:// URI as text (no QR library is installed);
a code from the app confirms it. Switching it off needs a current code. Wrong codes count
against the same per-account limit as passwords at login.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from companies import services_totp
from companies.models import Role
from companies.views_backend import backend_context, require_role
from ekomi.ratelimit import limit_exceeded

CODE_ATTEMPTS = 5  # per user and client address in CODE_WINDOW_SECONDS, like passwords
CODE_WINDOW_SECONDS = 15 * 60


class TotpCodeForm(forms.Form):
    code = forms.RegexField(
        label=gettext_lazy("Code from your authenticator app"),
        regex=r"^\d{6}$",
        error_messages={"invalid": gettext_lazy("Enter the 6 digits your app shows.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": "6"}
        ),
    )

    def clean_code(self):
        return self.cleaned_data["code"].strip()


def _page(request, *, form=None, status=200):
    device = services_totp.totp_device(user=request.user)
    context = backend_context(
        request,
        device=device,
        enabled=device is not None and device.confirmed,
        secret=services_totp.totp_secret(device) if device and not device.confirmed else None,
        form=form or TotpCodeForm(),
    )
    return render(request, "backend/security/index.html", context, status=status)


def _code_throttled(request) -> bool:
    return limit_exceeded(
        request,
        scope=f"totp:{request.user.pk}",
        limit=CODE_ATTEMPTS,
        window_seconds=CODE_WINDOW_SECONDS,
    )


@never_cache
@require_safe
@require_role(Role.VIEWER)
def security(request):
    """Never cached: while setting up, the page carries the secret."""
    return _page(request)


@never_cache
@require_POST
@require_role(Role.VIEWER)
def security_enable(request):
    device = services_totp.totp_device(user=request.user)
    if device is not None and device.confirmed:
        messages.error(request, _("Two-step login is already on."))
        return redirect("backend:security")
    services_totp.totp_setup_start(user=request.user)
    messages.success(
        request, _("Add the secret to your authenticator app, then enter a code to confirm.")
    )
    return redirect("backend:security")


def _checked_code(request, action) -> tuple[bool, TotpCodeForm]:
    form = TotpCodeForm(request.POST)
    if not form.is_valid():
        return False, form
    if _code_throttled(request):
        form.add_error("code", _("Too many attempts. Please wait a few minutes."))
        return False, form
    if not action(user=request.user, code=form.cleaned_data["code"]):
        form.add_error("code", _("This code is not correct. Check the time on your phone."))
        return False, form
    return True, form


@never_cache
@require_POST
@require_role(Role.VIEWER)
def security_confirm(request):
    ok, form = _checked_code(request, services_totp.totp_confirm)
    if not ok:
        return _page(request, form=form, status=400)
    messages.success(request, _("Two-step login is on. We will ask for a code at every login."))
    return redirect("backend:security")


@never_cache
@require_POST
@require_role(Role.VIEWER)
def security_disable(request):
    ok, form = _checked_code(request, services_totp.totp_disable)
    if not ok:
        return _page(request, form=form, status=400)
    messages.success(request, _("Two-step login is off."))
    return redirect("backend:security")
