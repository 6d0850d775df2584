"""TI-1: a generated cross-tenant matrix over every API operation in the OpenAPI schema.

Tenant A owns one object behind every path parameter. Tenant B's key asks for each of them with
every documented verb: the answer is exactly the answer for a missing object (404), nothing of
A's (the ACME-A marker) appears in any of B's responses, and no row of A changes. A new API path
without an entry in ``OBJECTS`` fails the test, so coverage cannot silently fall behind.
"""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Max
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from companies.tenancy import TenantModel
from invitations.csv_import import order_import_create
from moderation.complaints import complaint_file
from moderation.dialogue import dialogue_company_write
from reviews.services_comments import company_comment_set
from tests import factories

pytestmark = pytest.mark.django_db

MARKER = "ACME-A"
VERBS = ("get", "post", "put", "patch", "delete")


def api_operations() -> dict[str, set[str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        path: {verb for verb in ops if verb in VERBS}
        for path, ops in schema["paths"].items()
        if path.startswith("/api/v1/")
    }


@pytest.fixture
def tenant_a(shop):
    """One object of company A behind every kind of path parameter, each carrying the marker."""
    product = factories.ProductFactory(shop=shop, product_id="A-SKU", name=f"{MARKER} boot")
    invitation = factories.InvitationFactory(shop=shop, order__order_id="A-ORDER-1")
    review = factories.ReviewFactory(
        shop=shop,
        invitation=invitation,
        comment=f"{MARKER} secret praise",
        dialogue_email="a-evaluator@example.org",
    )
    company_comment_set(review=review, text=f"{MARKER} reply")
    complaint = complaint_file(
        review=review, source="company", reason="untrue", explanation=f"{MARKER} complaint"
    )
    dialogue_company_write(review=review, text=f"{MARKER} private message")
    upload = SimpleUploadedFile(
        "a.csv", b"order_id,email,order_date\nA-2,a@example.org,2026-01-01\n"
    )
    order_import = order_import_create(shop=shop, uploaded_file=upload, original_name="a.csv")
    return {
        "{product_id}": product.product_id,
        "{order_id}": invitation.order.order_id,
        "{review_id}": str(review.public_id),
        "{complaint_id}": str(complaint.public_id),
        "{id}": str(order_import.public_id),
    }


# For every path with a parameter: which of A's objects it names. Paths without parameters are
# lists or creations, checked for leaks and exact counts instead.
OBJECTS = {
    "/api/v1/complaints/{complaint_id}": ["{complaint_id}"],
    "/api/v1/order-imports/{id}": ["{id}"],
    "/api/v1/order-imports/{id}/report": ["{id}"],
    "/api/v1/orders/{order_id}": ["{order_id}"],
    "/api/v1/products/{product_id}": ["{product_id}"],
    "/api/v1/reviews/{review_id}": ["{review_id}"],
    "/api/v1/reviews/{review_id}/comment": ["{review_id}"],
    "/api/v1/reviews/{review_id}/dialogue": ["{review_id}"],
}
MISSING = {
    "{product_id}": "NO-SUCH-SKU",
    "{order_id}": "NO-SUCH-ORDER",
    "{review_id}": "00000000-0000-4000-8000-000000000000",
    "{complaint_id}": "00000000-0000-4000-8000-000000000000",
    "{id}": "00000000-0000-4000-8000-000000000000",
}
BODIES = {
    ("put", "/api/v1/products/{product_id}"): {"name": "hijack"},
    ("put", "/api/v1/reviews/{review_id}/comment"): {"text": "hijack"},
    ("post", "/api/v1/reviews/{review_id}/dialogue"): {"text": "hijack"},
}
# Create-or-replace by the caller's own key: B's PUT makes B's own product (TI-2), never A's.
UPSERTS = {("put", "/api/v1/products/{product_id}")}


def snapshot(company_id: int) -> dict[str, tuple]:
    """Row count and newest update of every tenant table for one company."""
    state = {}
    for model in apps.get_models():
        if issubclass(model, TenantModel):
            rows = model.objects.for_company(company_id)
            state[model._meta.label] = (rows.count(), rows.aggregate(m=Max("updated_at"))["m"])
    return state


def call(client, verb: str, path: str, template: str = ""):
    body = BODIES.get((verb, template))
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body else {}
    return getattr(client, verb)(path, **kwargs)


def fill(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace(name, value)
    return template


def test_it_has_a_matrix_entry_for_every_api_path_with_an_object():
    """TI-1: a new route without an entry here fails."""
    with_objects = {path for path in api_operations() if "{" in path}
    assert with_objects == set(OBJECTS)


def test_it_answers_another_companys_objects_exactly_like_missing_ones(
    tenant_a, other_api_client, shop
):
    """TI-1, R4: for every path and verb, B gets the missing-object answer; A is untouched."""
    before = snapshot(shop.company_id)
    for path, verbs in api_operations().items():
        if path not in OBJECTS:
            continue
        for verb in sorted(verbs):
            foreign = call(other_api_client, verb, fill(path, tenant_a), path)
            missing = call(other_api_client, verb, fill(path, MISSING), path)
            where = f"{verb.upper()} {path}"
            if (verb, path) in UPSERTS:
                assert foreign.status_code == missing.status_code == 201, where
                assert MARKER.encode() not in foreign.content, where
                continue
            assert foreign.status_code == missing.status_code == 404, where
            assert foreign.content == missing.content, where
            assert MARKER.encode() not in foreign.content, where
    assert snapshot(shop.company_id) == before


def test_it_shows_nothing_of_another_company_in_lists(tenant_a, other_api_client, other_shop):
    """TI-1: every list B can read is exactly B's (here: empty) and carries no A marker."""
    for path, verbs in api_operations().items():
        if "{" in path or "get" not in verbs:
            continue
        response = other_api_client.get(path)
        assert response.status_code == 200, path
        assert MARKER.encode() not in response.content, path
        body = response.json()
        rows = body.get("results", body) if isinstance(body, dict) else body
        assert rows == [], path


def test_it_lets_the_owner_reach_every_object_it_owns(tenant_a, api_client):
    """The matrix is not vacuous: with A's own key, the same GETs find A's objects."""
    for path, verbs in api_operations().items():
        if path in OBJECTS and "get" in verbs:
            response = api_client.get(fill(path, tenant_a))
            assert response.status_code in (200, 409), path  # 409: an import still running


def test_it_refuses_all_tenant_paths_without_a_key(tenant_a):
    anonymous = APIClient()
    for path, verbs in api_operations().items():
        for verb in sorted(verbs):
            assert call(anonymous, verb, fill(path, tenant_a), path).status_code == 401, path
