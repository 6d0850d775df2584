"""``/api/v1/products``: API-key auth and the shop-scoped base viewset (R3, R4, TI-1..3)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from companies.models import ApiKey, Product
from companies.services import api_key_revoke
from tests import factories

pytestmark = pytest.mark.django_db

PRODUCT = {"name": "Trail Runner 2", "brand": "Peakline", "gtin": "4006381333931"}


def test_it_creates_then_replaces_a_product_by_its_product_id(api_client, shop):
    created = api_client.put("/api/v1/products/TR-2", PRODUCT, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["product_id"] == "TR-2"
    replaced = api_client.put("/api/v1/products/TR-2", {"name": "Trail Runner 2.1"}, format="json")
    assert replaced.status_code == 200
    product = Product.objects.for_company(shop.company).get(shop=shop, product_id="TR-2")
    assert (product.name, product.brand, product.gtin) == ("Trail Runner 2.1", "", "")


def test_it_lists_only_the_key_holders_products(api_client, shop, other_shop):
    """TI-1: lists are exact; another company's rows never appear."""
    factories.ProductFactory(shop=shop, product_id="A-1", name="ACME-A boot")
    factories.ProductFactory(shop=other_shop, product_id="B-1", name="BETA-B secret")
    response = api_client.get("/api/v1/products")
    assert response.status_code == 200
    assert [p["product_id"] for p in response.json()] == ["A-1"]
    assert "BETA-B" not in response.content.decode()


def test_it_answers_another_companys_product_like_a_missing_one(api_client, other_shop):
    """R4, TI-1: 404 for a foreign id, the same body as for an unknown id."""
    factories.ProductFactory(shop=other_shop, product_id="B-1", name="BETA-B secret")
    foreign = api_client.get("/api/v1/products/B-1")
    missing = api_client.get("/api/v1/products/NOPE")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


def test_it_never_changes_another_companys_product(api_client, shop, other_shop):
    """TI-2: a PUT with a foreign product_id makes the caller's own row; theirs is untouched."""
    theirs = factories.ProductFactory(shop=other_shop, product_id="B-1", name="BETA-B secret")
    response = api_client.put("/api/v1/products/B-1", {"name": "hijack"}, format="json")
    assert response.status_code == 201
    theirs_after = Product.objects.unscoped().get(pk=theirs.pk)
    assert (theirs_after.name, theirs_after.updated_at) == ("BETA-B secret", theirs.updated_at)
    assert Product.objects.for_company(shop.company).get(product_id="B-1").name == "hijack"


@pytest.mark.parametrize("field", ["company", "company_id", "shop", "id", "tenant"])
def test_it_refuses_fields_that_try_to_set_server_owned_values(api_client, other_shop, field):
    """TI-2: unknown or server-owned fields are a 400, and nothing is written."""
    body = {**PRODUCT, field: other_shop.company_id}
    response = api_client.put("/api/v1/products/X-1", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Product.objects.unscoped().filter(product_id="X-1").exists()


def test_it_explains_a_bad_gtin(api_client):
    response = api_client.put("/api/v1/products/X-2", {"name": "x", "gtin": "12ab"}, format="json")
    assert response.status_code == 400
    assert "8 to 14 digits" in response.json()["gtin"][0]


def test_it_refuses_requests_without_a_valid_key(db, shop, api_key):
    """R3, AU-6: no key, a wrong key, a key in the query string: 401 and no data."""
    client = APIClient()
    assert client.get("/api/v1/products").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Bearer ek_00000000_wrong")
    assert client.get("/api/v1/products").status_code == 401
    anonymous = APIClient()
    assert anonymous.get(f"/api/v1/products?api_key={api_key}").status_code == 401


def test_it_refuses_a_revoked_key_at_once(api_client, shop):
    """R3: a company can revoke keys; the next request fails."""
    assert api_client.get("/api/v1/products").status_code == 200
    key = ApiKey.objects.for_company(shop.company).get()
    assert key.last_used_at is not None
    api_key_revoke(api_key=key)
    assert api_client.get("/api/v1/products").status_code == 401


def test_it_lists_products_with_a_fixed_number_of_queries(
    api_client, shop, django_assert_num_queries
):
    factories.ProductFactory.create_batch(25, shop=shop)
    api_client.get("/api/v1/products")  # the first use stamps last_used_at (one UPDATE)
    # 1 API key by hash (with shop and company), 1 products page.
    with django_assert_num_queries(2):
        response = api_client.get("/api/v1/products")
    assert len(response.json()) == 25


def test_it_publishes_the_openapi_schema_and_docs(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/products/{product_id}" in schema.content
    assert b"ApiKeyAuth" in schema.content
    assert client.get("/api/docs/").status_code == 200
