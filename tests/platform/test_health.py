"""``/healthz``: liveness with database and Redis reachability."""

from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_it_reports_healthy_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_when_redis_is_unreachable(client, unused_tcp_port):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{unused_tcp_port}/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "down"}


def test_it_says_redis_is_not_configured_in_embedded_mode(client):
    with override_settings(REDIS_URL=""):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == "not configured"


def test_it_hides_the_debug_mailbox_without_debug(client):
    assert client.get("/_dev/mail/").status_code == 404
