"""Shared fixtures. Every test module that touches tenant data has an outsider:
``company`` and ``other_company`` (STYLE.md 8)."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from companies.models import Role
from companies.services import api_key_create
from tests import factories


@pytest.fixture
def company(db):
    return factories.CompanyFactory(name="ACME-A Trading")


@pytest.fixture
def other_company(db):
    return factories.CompanyFactory(name="BETA-B Retail")


@pytest.fixture
def shop(company):
    return factories.ShopFactory(company=company, name="ACME-A Shop", slug="acme-a-shop")


@pytest.fixture
def other_shop(other_company):
    return factories.ShopFactory(company=other_company, name="BETA-B Shop", slug="beta-b-shop")


@pytest.fixture
def owner(company):
    return factories.MembershipFactory(company=company, role=Role.OWNER).user


@pytest.fixture
def other_owner(other_company):
    return factories.MembershipFactory(company=other_company, role=Role.OWNER).user


@pytest.fixture
def api_key(shop):
    """The plaintext API key of ``shop`` (shown once at creation)."""
    return api_key_create(shop=shop, name="test")[1]


@pytest.fixture
def other_api_key(other_shop):
    return api_key_create(shop=other_shop, name="test")[1]


def fresh_address() -> str:
    """A client address of its own: rate-limit counters live in Redis and outlive a test, so a
    shared 127.0.0.1 would let one test's failures throttle the next."""
    import secrets

    return "10." + ".".join(str(secrets.randbelow(254) + 1) for _ in range(3))


@pytest.fixture
def client():
    from django.test import Client

    return Client(REMOTE_ADDR=fresh_address())


@pytest.fixture
def api_client(api_key):
    from rest_framework.test import APIClient

    client = APIClient(REMOTE_ADDR=fresh_address())
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def other_api_client(other_api_key):
    from rest_framework.test import APIClient

    client = APIClient(REMOTE_ADDR=fresh_address())
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_api_key}")
    return client


@pytest.fixture
def unscoped():
    """Tests inspect rows across tenants on purpose."""
    with scopes_disabled():
        yield


@pytest.fixture
def unused_tcp_port():
    """A local port nothing listens on (bound, read, released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (installed by scripts/ensure-browser).

    Tests that check what a person sees take a fresh context from this browser:
    ``context = chromium.new_context()`` (no shared cookies between tests).
    """
    import os

    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs its own event loop; Django's async-safety check would
    # otherwise refuse database access from the test in the same thread.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=CHROMIUM_FLAGS,
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path_factory):
    """Uploaded files of a test go to a temporary folder, never into the project's var/."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@pytest.fixture(autouse=True)
def _private_media_in_tmp(settings, tmp_path_factory):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path_factory.mktemp("private"))


@pytest.fixture(autouse=True)
def _no_waiting_submissions(settings):
    """Each test starts with this worker's list of submissions waiting for screening empty."""
    from ekomi.broker import redis_client

    redis_client().delete(settings.REVIEW_SCREENING_LIST)


@pytest.fixture
def browser_context(chromium, settings):
    """A fresh Chromium context behind a trusted proxy, with an address of its own: each run
    comes from its own address, so the per-IP limits of earlier runs never apply."""
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    context = chromium.new_context(extra_http_headers={"X-Forwarded-For": fresh_address()})
    yield context
    context.close()


@pytest.fixture
def mail_sink(settings):
    """An SMTP sink on 127.0.0.1 that Django sends to; yields its handler (``wait_for``)."""
    from tests.live.sink import SmtpSink, send_to

    server = SmtpSink().start()
    send_to(settings, server.port)
    yield server.handler
    server.stop()


@pytest.fixture
def eager_tasks():
    """``.delay()`` runs the task in this process instead of a worker."""
    from ekomi.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False
