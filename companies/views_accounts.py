"""Account pages under /accounts/: sign-up, confirmation, login, logout, joining a team
(R1, R2, R3, AU-5)."""

from __future__ import annotations

import hashlib
import time
from functools import wraps

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from companies.forms_accounts import EmailAuthenticationForm, JoinForm, SignupForm
from companies.middleware import SESSION_COMPANY_KEY
from companies.models import NewsletterConsent, User
from companies.services_accounts import (
    company_signup,
    email_confirm,
    team_invitation_accept,
    team_invitation_read,
    team_member_signup,
)
from companies.services_settings import newsletter_opt_in
from companies.services_totp import totp_required, totp_verify
from companies.views_security import TotpCodeForm as LoginCodeForm
from ekomi.ratelimit import limit_exceeded

LOGIN_WINDOW_SECONDS = 15 * 60
LOGIN_ATTEMPTS_PER_ACCOUNT = 5  # per email address and client IP
LOGIN_ATTEMPTS_PER_IP = 30  # password spraying over many accounts from one address
SIGNUPS_PER_IP_PER_HOUR = 10


def localized(view):
    """Pages in the language the browser asks for (English or German)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        language = translation.get_language_from_request(request)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            return response

    return wrapper


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.method == "POST":
        if limit_exceeded(
            request, scope="signup", limit=SIGNUPS_PER_IP_PER_HOUR, window_seconds=3600
        ):
            return render(request, "accounts/throttled.html", status=429)
        form = SignupForm(request.POST)
        if form.is_valid():
            owner = company_signup(
                **{k: v for k, v in form.cleaned_data.items() if k not in _CHECKBOXES}
            )
            if form.cleaned_data["newsletter"]:  # R41: consent recorded with its source
                newsletter_opt_in(user=owner, source=NewsletterConsent.Source.SIGNUP)
            _record_terms_accepted(owner)
            return redirect("accounts:signup-done")
    else:
        form = SignupForm()
    return render(request, "accounts/signup.html", {"form": form})


_CHECKBOXES = ("may_act_for_company", "accept_terms", "newsletter")


def _record_terms_accepted(owner) -> None:
    """R45, R6: the terms (with the consent attestation of 004 §6.2) ticked at sign-up."""
    from django.utils import timezone

    from companies.models import Membership
    from terms.models import TermsAcceptance
    from terms.services import terms_accept_current  # terms builds on companies, not back

    # Unscoped: the new owner's one membership names the company the sign-up created.
    membership = Membership.objects.unscoped().select_related("company").get(user=owner)
    terms_accept_current(
        company=membership.company,
        user=owner,
        now=timezone.now(),
        how=TermsAcceptance.How.SIGNUP,
    )


def signup_done(request):
    return render(request, "accounts/signup_done.html")


def confirm(request, token: str):
    user = email_confirm(token=token)
    status = 200 if user is not None else 400
    if user is not None:
        _conclude_standard_offer(request, user)
    return render(request, "accounts/confirm.html", {"confirmed": user is not None}, status=status)


def _conclude_standard_offer(request, user) -> None:
    """R44, 001 §3.1: the confirmation email concludes the sign-up's standard-plan contract
    (skipped when no standard plan is configured). Imported here: terms sits above companies."""
    from django.utils import timezone

    from companies.models import Membership, Role
    from ekomi.ratelimit import client_ip
    from terms.services import conclude_standard_offer

    owned = Membership.objects.unscoped().filter(user=user, role=Role.OWNER)  # the user's own
    for membership in owned.select_related("company"):
        conclude_standard_offer(
            company=membership.company, user=user, ip=client_ip(request), when=timezone.now()
        )


class LoginView(auth_views.LoginView):
    """Django's login (it rotates the session key) with throttling per account and IP (AU-5)."""

    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        email = request.POST.get("username", "").strip().lower()
        # The counter is keyed by the address typed, known or not: the answer is the same.
        digest = hashlib.sha256(email.encode()).hexdigest()[:24]
        per_account = limit_exceeded(
            request,
            scope=f"login:{digest}",
            limit=LOGIN_ATTEMPTS_PER_ACCOUNT,
            window_seconds=LOGIN_WINDOW_SECONDS,
        )
        per_ip = limit_exceeded(
            request,
            scope="login-ip",
            limit=LOGIN_ATTEMPTS_PER_IP,
            window_seconds=LOGIN_WINDOW_SECONDS,
        )
        if per_account or per_ip:
            return render(request, "accounts/throttled.html", status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        """With two-step login on, the password only opens the code step: nobody is logged in
        until the code is right (views_accounts.login_code)."""
        user = form.get_user()
        if not totp_required(user=user):
            return super().form_valid(form)
        self.request.session[SESSION_PENDING_LOGIN] = {
            "user": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
            "at": int(time.time()),
        }
        return redirect("accounts:login-code")


SESSION_PENDING_LOGIN = "login_pending_second_factor"
PENDING_LOGIN_SECONDS = 5 * 60


@require_http_methods(["GET", "POST"])
def login_code(request):
    """The second step of a login with two-step login on (AU-5): a code from the TOTP app.

    Wrong codes count against the same per-account and per-IP limits as wrong passwords.
    """
    pending = request.session.get(SESSION_PENDING_LOGIN)
    if not pending or time.time() - pending["at"] > PENDING_LOGIN_SECONDS:
        request.session.pop(SESSION_PENDING_LOGIN, None)
        return redirect("accounts:login")
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        return redirect("accounts:login")
    form = LoginCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _code_throttled(request, user):
            return render(request, "accounts/throttled.html", status=429)
        device = totp_verify(user=user, code=form.cleaned_data["code"])
        if device is not None:
            del request.session[SESSION_PENDING_LOGIN]
            auth_login(request, user, backend=pending["backend"])
            otp_login(request, device)
            return redirect(pending["next"])
        form.add_error("code", _("This code is not correct. Check the time on your phone."))
    return render(request, "accounts/login_otp.html", {"form": form})


def _code_throttled(request, user) -> bool:
    per_account = limit_exceeded(
        request,
        scope=f"login-code:{user.pk}",
        limit=LOGIN_ATTEMPTS_PER_ACCOUNT,
        window_seconds=LOGIN_WINDOW_SECONDS,
    )
    per_ip = limit_exceeded(
        request, scope="login-ip", limit=LOGIN_ATTEMPTS_PER_IP, window_seconds=LOGIN_WINDOW_SECONDS
    )
    return per_account or per_ip


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): the session is flushed on the server."""

    template_name = "accounts/logged_out.html"


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "emails/accounts/password_reset.txt"
    html_email_template_name = "emails/accounts/password_reset.html"
    subject_template_name = "emails/accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-done")

    def post(self, request, *args, **kwargs):
        if limit_exceeded(request, scope="password-reset", limit=10, window_seconds=3600):
            return render(request, "accounts/throttled.html", status=429)
        return super().post(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")


@require_http_methods(["GET", "POST"])
def join(request, token: str):
    """Accept a team invitation (R2): new people set a password, existing ones log in first."""
    invitation = team_invitation_read(token=token)
    if invitation is None:
        return render(request, "accounts/join_invalid.html", status=400)
    existing = User.objects.filter(email__iexact=invitation.email).first()
    if existing is not None:
        return _join_existing(request, invitation, existing)
    form = JoinForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        team_member_signup(invitation=invitation, **form.cleaned_data)
        messages.success(request, _("Welcome to the team. Please log in."))
        return redirect("accounts:login")
    return render(request, "accounts/join.html", {"invitation": invitation, "form": form})


def _join_existing(request, invitation, user):
    if request.user != user:
        # The invitation is for one address: whoever is logged in must be that person.
        return redirect_to_login(request.get_full_path())
    if request.method == "POST":
        team_invitation_accept(invitation=invitation, user=user)
        request.session[SESSION_COMPANY_KEY] = invitation.company.pk
        messages.success(
            request, _("You joined %(company)s.") % {"company": invitation.company.name}
        )
        return redirect("backend:dashboard")
    return render(request, "accounts/join.html", {"invitation": invitation, "form": None})
