"""IN-1: schemathesis generates requests from the OpenAPI schema (/api/schema/) and sends them
with a valid key to the WSGI application in-process: no operation answers 5xx and every answer
matches its documented schema (status codes, content type, body)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis import checks

from ekomi.wsgi import application

pytestmark = pytest.mark.django_db

# IN-1 asks for no 5xx and answers as documented. DRF's documented leniency (a number where a
# string is expected is taken as its text) is not a failure, so the negative-data checks are off.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.unsupported_method,
]
# Enough examples to hit every branch of the validation per operation, small enough for CI.
EXAMPLES_PER_OPERATION = 12


def _in_test_transaction(environ, start_response):
    """The real WSGI application, minus closing the database connection around each request
    (as Django's test client does), so every request runs inside the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, start_response)
        body = b"".join(result)
        result.close()
        return [body]
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _schema():
    document = SchemaGenerator().get_schema(request=None, public=True)
    document["paths"] = {p: ops for p, ops in document["paths"].items() if p.startswith("/api/")}
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = _in_test_transaction
    return loaded


schema = _schema()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_it_answers_every_generated_request_without_5xx_and_as_documented_in_1(case, api_key):
    """IN-1: valid key, generated bodies and parameters: no 5xx, every response as documented."""
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)


def test_it_answers_an_unknown_api_path_with_json_and_other_paths_with_the_page_in_1(
    client, api_key
):
    """IN-1: a path no route matches is a JSON 404 under /api/ (as documented), HTML elsewhere."""
    api = client.get("/api/v1/reviews/%C2%84", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    page = client.get("/no-such-page/")

    assert api.status_code == 404 and api["Content-Type"] == "application/json"
    assert api.json()["code"] == "not_found"
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
