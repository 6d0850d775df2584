"""Per-client limits believe X-Forwarded-For only from our own proxy (AB-2)."""

from __future__ import annotations

import secrets

from django.test import RequestFactory, override_settings

from ekomi.ratelimit import client_ip, limit_exceeded


def request(remote: str, forwarded: str = ""):
    meta = {"REMOTE_ADDR": remote}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@override_settings(TRUSTED_PROXIES=["10.0.0.2"])
def test_it_believes_the_forwarded_address_only_from_a_trusted_proxy():
    assert client_ip(request("10.0.0.2", "203.0.113.7")) == "203.0.113.7"
    # A client cannot pose as someone else by prepending addresses of its own.
    assert client_ip(request("10.0.0.2", "1.2.3.4, 203.0.113.7")) == "203.0.113.7"
    assert client_ip(request("198.51.100.9", "203.0.113.7")) == "198.51.100.9"


def test_it_counts_per_client_and_window():
    scope = f"test-{secrets.token_hex(4)}"
    client = request("192.0.2.10")
    results = [limit_exceeded(client, scope=scope, limit=3, window_seconds=60) for _ in range(4)]
    assert results == [False, False, False, True]
    assert limit_exceeded(request("192.0.2.11"), scope=scope, limit=3, window_seconds=60) is False


@override_settings(TRUSTED_PROXIES=[])
def test_it_cannot_be_reset_with_a_spoofed_header():
    scope = f"test-{secrets.token_hex(4)}"
    hits = [
        limit_exceeded(
            request("192.0.2.20", f"198.51.100.{n}"), scope=scope, limit=2, window_seconds=60
        )
        for n in range(3)
    ]
    assert hits == [False, False, True]
