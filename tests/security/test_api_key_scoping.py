"""TI-3: a company's key only ever reaches its own shop's data; revoked and unknown keys are
refused with 401 and one WARNING security log line that names the key's public prefix, the
tenant (when known) and the path, and never the key."""

from __future__ import annotations

import logging

import pytest
from rest_framework.test import APIClient

from companies.services import api_key_create, api_key_revoke
from invitations.models import Order
from tests import factories
from tests.conftest import fresh_address

pytestmark = pytest.mark.django_db

ORDER = {"order_id": "TI3-1", "email": "ti3@example.org", "order_date": "2026-01-01"}


@pytest.fixture
def bare_client():
    """An API client without default credentials, so each call names its own key."""
    return APIClient(REMOTE_ADDR=fresh_address())


def _post(client, raw):
    return client.post("/api/v1/orders", [ORDER], format="json", HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.mark.parametrize("state", ["revoked", "unknown"])
def test_it_refuses_a_revoked_or_unknown_key_and_logs_it_without_the_key_ti_3(
    state, bare_client, shop, caplog
):
    """TI-3: 401 as documented, no side effect, a WARNING line with prefix/tenant/path only."""
    key, raw = api_key_create(shop=shop, name="soon revoked")
    if state == "revoked":
        api_key_revoke(api_key=key)
    else:
        raw = raw[:-6] + "AAAAAA"  # the same public prefix, a secret nobody was given

    with caplog.at_level(logging.WARNING, logger="security"):
        response = _post(bare_client, raw)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Order.objects.unscoped().filter(order_id="TI3-1").exists()
    lines = [r.getMessage() for r in caplog.records if r.name == "security"]
    assert len(lines) == 1
    assert f"reason={state}" in lines[0] and f"prefix={key.prefix}" in lines[0]
    assert "path=/api/v1/orders" in lines[0]
    assert (f"company={shop.company_id}" in lines[0]) == (state == "revoked")
    assert raw not in caplog.text and raw[12:] not in caplog.text


def test_it_files_orders_under_the_keys_own_shop_whatever_the_body_says_ti_3(
    bare_client, api_key, shop, other_shop
):
    """TI-3: A's key cannot write into B: shop and company come from the key, not the body."""
    body = {**ORDER, "shop": other_shop.pk, "company": other_shop.company_id}
    response = bare_client.post(
        "/api/v1/orders", [body], format="json", HTTP_AUTHORIZATION=f"Bearer {api_key}"
    )

    assert response.status_code in (200, 201, 400)
    assert not Order.objects.for_company(other_shop.company).exists()
    if response.status_code != 400:
        assert Order.objects.for_company(shop.company).filter(shop=shop).count() == 1


def test_it_answers_a_key_of_a_blocked_company_without_its_data_ti_3(bare_client, api_key, shop):
    """TI-3, R30: a blocked company's key reads nothing (403) and writes nothing."""
    shop.company.status = "blocked"
    shop.company.save(update_fields=["status"])
    factories.ReviewFactory(shop=shop, comment="ACME-A hidden")

    read = bare_client.get("/api/v1/reviews", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    write = _post(bare_client, api_key)

    assert read.status_code == 403 and "ACME-A" not in read.content.decode()
    assert write.status_code == 403
    assert not Order.objects.unscoped().filter(order_id="TI3-1").exists()
