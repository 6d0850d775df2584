"""Helpers of the tests that drive a real browser (Chromium through Playwright, see the
``chromium``, ``browser_context`` and ``mail_sink`` fixtures in tests/conftest.py), and the log-in
details they share with the tests of the login itself."""

from __future__ import annotations

import re
import secrets
import time

FACTORY_PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory


def no_horizontal_scroll(page) -> bool:
    """The page fits the viewport's width: nothing to scroll sideways."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def log_in(
    page, base_url: str, email: str, password: str = FACTORY_PASSWORD, lands_on: str = "/backend/"
) -> None:
    """Log in with the login form and wait for the page it leads to (the code step with TOTP)."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}{lands_on}")


def logged_in(context, base_url: str, user) -> None:
    """Give the browser context a session of ``user`` (``force_login``), skipping the form."""
    from django.conf import settings
    from django.test import Client

    from tests.conftest import fresh_address

    session = Client(REMOTE_ADDR=fresh_address())
    session.force_login(user)
    cookie = session.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}])


def sign_up_and_confirm(
    page, base_url: str, sink, details: dict[str, str], password: str
) -> tuple[str, str]:
    """Sign a business up with ``details`` (form label: value) and a fresh email address, check
    the form fits the width, and open the confirmation link from the SMTP sink. Returns the
    address and the link."""
    email = f"owner-{secrets.token_hex(4)}@browser.example"
    page.goto(f"{base_url}/accounts/signup/")
    assert no_horizontal_scroll(page)
    for label, value in [*details.items(), ("Email address", email), ("Password", password)]:
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("I confirm that I may act on behalf of this company.").check()
    page.get_by_label("I accept the terms of use and the privacy policy.").check()
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{base_url}/accounts/signup/done/")
    body = sink.wait_for(1)[0].message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/accounts/confirm/\S+/", body).group(0)
    page.goto(link)
    assert "your email address is confirmed" in page.inner_text("main")
    return email, link


def totp_code(device, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or ``steps_ahead`` periods later)."""
    from django_otp.oath import hotp

    counter = int((time.time() - device.t0) // device.step) + steps_ahead
    return f"{hotp(device.bin_key, counter, digits=device.digits):06d}"
