"""Only strictly necessary cookies: none on the widget, seal, feed and certificate (R41-R43)."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

PUBLIC_PATHS = (
    "/c/{slug}/",
    "/c/{slug}/widget.js",
    "/c/{slug}/widget/",
    "/c/{slug}/seal.svg",
    "/c/{slug}/feeds/product-ratings.xml",
)


@pytest.mark.parametrize("template", PUBLIC_PATHS)
def test_it_sets_no_cookie_on_public_shop_paths(client, shop, template):
    """No Set-Cookie and no Vary: Cookie on the embeddable and public pages, even for a
    visitor who brings a session cookie."""
    factories.ReviewFactory(shop=shop)
    client.cookies["sessionid"] = "whatever"
    client.cookies["csrftoken"] = "x" * 32
    response = client.get(template.format(slug=shop.slug))
    assert response.status_code in (200, 304)
    assert "Set-Cookie" not in str(response.serialize_headers())
    assert not response.cookies
    vary = response.get("Vary", "")
    assert "cookie" not in vary.lower()


def test_it_sets_only_the_session_and_csrf_cookies_on_the_backend(client, owner):
    """Backend: strictly necessary cookies only (session, CSRF), HttpOnly."""
    client.force_login(owner)
    response = client.get("/backend/data/")
    assert response.status_code == 200
    assert set(response.cookies) <= {"sessionid", "csrftoken"}
    for morsel in response.cookies.values():
        assert morsel["httponly"]
