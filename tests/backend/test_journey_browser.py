"""The business sign-up journey in a real browser (R1, AU-5; issue 7): sign up, confirm the
address from the SMTP sink, log in, and see the dashboard at desktop and phone widths."""

from __future__ import annotations

import re
import secrets

import pytest

from ekomi.celery import app as celery_app
from tests.backend.conftest import fresh_address
from tests.live.sink import SmtpSink

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a long Passphrase 2026!"


@pytest.fixture
def sink(settings):
    server = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield server.handler
    server.stop()


@pytest.fixture
def eager_tasks():
    """The confirmation task runs in this process instead of a worker."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def browser_context(chromium, settings):
    # Each run comes from its own address, so the per-IP limits of earlier runs never apply.
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    context = chromium.new_context(extra_http_headers={"X-Forwarded-For": fresh_address()})
    yield context
    context.close()


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_it_takes_a_business_from_sign_up_to_the_dashboard(
    live_server, settings, sink, eager_tasks, browser_context, tmp_path
):
    settings.SITE_URL = live_server.url
    email = f"owner-{secrets.token_hex(4)}@browser.example"
    page = browser_context.new_page()
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(f"{live_server.url}/accounts/signup/")
    assert _no_horizontal_scroll(page)
    for label, value in [
        ("Company name", "Delta Deli GmbH"),
        ("Street and number", "Marktplatz 3"),
        ("Postal code", "20095"),
        ("City", "Hamburg"),
        ("VAT ID", "DE136695976"),
        ("Shop name", "Delta Deli"),
        ("First name", "Dana"),
        ("Last name", "Delta"),
        ("Email address", email),
        ("Password", PASSWORD),
    ]:
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("I confirm that I may act on behalf of this company.").check()
    page.get_by_label("I accept the terms of use and the privacy policy.").check()
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{live_server.url}/accounts/signup/done/")

    body = sink.wait_for(1)[0].message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/accounts/confirm/\S+/", body).group(0)
    assert link.startswith(live_server.url)
    page.goto(link)
    assert "your email address is confirmed" in page.inner_text("main")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/backend/")
    assert "Delta Deli" in page.inner_text("main")
    assert _no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(tmp_path / "dashboard-desktop.png"), full_page=True)
