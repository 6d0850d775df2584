"""The backend's integration page: API keys shown once and revocable, the eKomi interface
password rotated and shown once, copy-paste snippets (R2, R3, TI-1, AU-6)."""

from __future__ import annotations

import html
import logging

import pytest
from django.urls import reverse

from companies.models import ApiKey, Role, Shop
from companies.services import api_key_create
from companies.views_backend import SESSION_ONE_TIME
from tests import factories
from tests.compat.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PAGE = "/backend/integration/"


def _login(client, company, role):
    user = factories.MembershipFactory(company=company, role=role).user
    client.force_login(user)
    return user


def _secret(page: str) -> str:
    marker = 'id="secret-value"'
    assert marker in page
    tail = page.split(marker, 1)[1]
    return html.unescape(tail.split('value="', 1)[1].split('"', 1)[0])


def _get_settings(client, shop, password):
    query = f"auth={shop.interface_id}|{password}&type=json"
    return client.get(f"/v3/getSettings?{query}")


def test_it_creates_a_key_shows_it_once_and_revokes_it(client, company, shop, caplog):
    """R3, AU-6: the owner's new key is shown once (no-store, not in the URL), works against
    /api/v1/products, is listed by prefix afterwards and answers 401 once revoked."""
    user = _login(client, company, Role.OWNER)
    caplog.set_level(logging.DEBUG)

    response = client.post(
        reverse("backend:integration-key-create", args=[shop.pk]), {"name": "ERP"}
    )
    assert response.status_code == 302 and response["Location"] == PAGE
    key = ApiKey.objects.for_company(company).get(name="ERP")
    assert key.shop == shop and key.created_by == user

    shown = client.get(PAGE)
    assert "no-store" in shown["Cache-Control"]
    page = shown.content.decode()
    raw = _secret(page)
    assert key.prefix in raw
    assert "it will not be shown again" in page
    assert SESSION_ONE_TIME not in client.session

    again = client.get(PAGE).content.decode()
    assert raw not in again and f"{key.prefix}…" in again and "ERP" in again

    api = factories_api_client(raw)
    assert api.get("/api/v1/products").status_code == 200
    assert raw not in caplog.text

    revoked = client.post(
        reverse("backend:integration-key-revoke", args=[key.pk]), {"confirm": "yes"}
    )
    assert revoked.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api.get("/api/v1/products").status_code == 401


def factories_api_client(raw):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


def test_it_revokes_only_after_confirmation(client, company, shop):
    """R3: a revoke without the confirmation changes nothing."""
    _login(client, company, Role.OWNER)
    key, _raw = api_key_create(shop=shop, name="ERP")
    client.post(reverse("backend:integration-key-revoke", args=[key.pk]))
    key.refresh_from_db()
    assert key.revoked_at is None


def test_it_refuses_a_key_without_a_name(client, company, shop):
    """R3: a key needs a name; nothing is created and no secret is pending."""
    _login(client, company, Role.OWNER)
    client.post(reverse("backend:integration-key-create", args=[shop.pk]), {"name": ""})
    assert not ApiKey.objects.for_company(company).exists()
    assert 'id="secret-value"' not in client.get(PAGE).content.decode()


def test_it_rotates_the_interface_password_and_shows_it_once(client, other_client, company, shop):
    """R3, AU-6: the new password is shown once; the old one gets 'Access denied' from
    /v3/getSettings, the new one works."""
    _login(client, company, Role.OWNER)
    assert _get_settings(other_client, shop, PASSWORD).json()["mail_from_name"] == "ACME-A Shop"

    response = client.post(
        reverse("backend:integration-password-rotate", args=[shop.pk]), {"confirm": "yes"}
    )
    assert response.status_code == 302 and response["Location"] == PAGE
    shown = client.get(PAGE)
    assert "no-store" in shown["Cache-Control"]
    page = shown.content.decode()
    password = _secret(page)
    assert shop.interface_id in page and "it will not be shown again" in page
    assert password not in client.get(PAGE).content.decode()

    assert _get_settings(other_client, shop, PASSWORD).content == b"Access denied"
    assert _get_settings(other_client, shop, password).json()["mail_from_name"] == "ACME-A Shop"


def test_it_lets_a_manager_view_but_not_change(client, company, shop):
    """R2: managers see keys and the interface id, but creating, revoking and rotating is 403."""
    key, raw = api_key_create(shop=shop, name="ERP")
    before = Shop.objects.for_company(company).get().interface_password_hash
    _login(client, company, Role.MANAGER)

    page = client.get(PAGE).content.decode()
    assert shop.interface_id in page and key.prefix in page and raw not in page
    assert "Create API key" not in page and "rotate-password" not in page

    assert (
        client.post(
            reverse("backend:integration-key-create", args=[shop.pk]), {"name": "x"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("backend:integration-key-revoke", args=[key.pk]), {"confirm": "yes"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("backend:integration-password-rotate", args=[shop.pk]), {"confirm": "yes"}
        ).status_code
        == 403
    )
    assert ApiKey.objects.for_company(company).count() == 1
    key.refresh_from_db()
    assert key.revoked_at is None
    assert Shop.objects.for_company(company).get().interface_password_hash == before


def test_it_lets_a_viewer_view(client, company, shop):
    """R2: viewers can look at the integration page; the forms are not offered."""
    _login(client, company, Role.VIEWER)
    response = client.get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert shop.interface_id in page and "Create API key" not in page
    assert (
        client.post(
            reverse("backend:integration-key-create", args=[shop.pk]), {"name": "x"}
        ).status_code
        == 403
    )


def test_it_answers_404_for_another_companys_key_or_shop(client, company, other_shop, unscoped):
    """TI-1: the owner of A with B's key id or shop id gets 404 and B is unchanged."""
    other_key, other_raw = api_key_create(shop=other_shop, name="B key")
    before = Shop.objects.get(pk=other_shop.pk).interface_password_hash
    _login(client, company, Role.OWNER)

    assert (
        client.post(
            reverse("backend:integration-key-revoke", args=[other_key.pk]), {"confirm": "yes"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("backend:integration-key-create", args=[other_shop.pk]), {"name": "x"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("backend:integration-password-rotate", args=[other_shop.pk]), {"confirm": "yes"}
        ).status_code
        == 404
    )

    other_key.refresh_from_db()
    assert other_key.revoked_at is None
    assert ApiKey.objects.filter(shop=other_shop).count() == 1
    assert Shop.objects.get(pk=other_shop.pk).interface_password_hash == before
    page = client.get(PAGE).content.decode()
    assert other_shop.interface_id not in page and other_key.prefix not in page
    assert SESSION_ONE_TIME not in client.session


def test_it_builds_the_snippets_from_site_url_and_slug(client, company, shop, settings):
    """The widget script, iframe, seal and feed URL use SITE_URL and the slug, HTML-escaped."""
    settings.SITE_URL = "https://reviews.example"
    Shop.objects.for_company(company).filter(pk=shop.pk).update(name='Fish & "Chips" <b>')
    _login(client, company, Role.VIEWER)
    page = client.get(PAGE).content.decode()
    base = "https://reviews.example/c/acme-a-shop/"
    for url in (base, f"{base}widget.js", f"{base}widget/", f"{base}seal.svg"):
        assert url in page
    assert f'value="{base}feeds/product-ratings.xml"' in page
    assert "&lt;script src=&quot;https://reviews.example/c/acme-a-shop/widget.js" in page
    assert "&lt;iframe src=" in page and "&lt;img src=" in page
    # The shop name is escaped inside the snippet and once more for display.
    assert "Fish &amp;amp; &amp;quot;Chips&amp;quot; &amp;lt;b&amp;gt;" in page
    assert "<b>" not in page.split("<main", 1)[1]
    assert "https://reviews.example/v3/" in page and "https://api.ekomi.de/v3/" in page


def test_it_links_the_integration_page_in_the_navigation(client, company, shop):
    _login(client, company, Role.VIEWER)
    assert 'href="/backend/integration/"' in client.get("/backend/").content.decode()


def test_it_speaks_german(client, company, shop):
    """The page and the one-time message are translated."""
    _login(client, company, Role.OWNER)
    client.post(reverse("backend:integration-key-create", args=[shop.pk]), {"name": "ERP"})
    page = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Kopieren Sie ihn jetzt, er wird nicht noch einmal angezeigt." in page
    assert "API-Schlüssel erstellen" in page and "Schnittstellen-ID" in page


def test_it_offers_product_stars_and_a_live_widget_preview(client, company, shop, settings):
    """R2/R28: a product-stars snippet (the widget for one product id) and the widget itself,
    previewed from this origin in an iframe the page's CSP allows."""
    settings.SITE_URL = "https://reviews.example"
    _login(client, company, Role.VIEWER)
    response = client.get(PAGE)
    page = response.content.decode()

    assert "data-product-id=&quot;PRODUCT-ID&quot;" in page
    assert "widget.js?product_id=PRODUCT-ID" in page
    assert '<iframe src="/c/acme-a-shop/widget/"' in page
    assert "frame-src" not in response["Content-Security-Policy"]  # default-src 'self' applies
    assert client.get("/c/acme-a-shop/widget/").status_code == 200
