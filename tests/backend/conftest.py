"""Backend test clients come from a fresh address each: rate-limit counters live in Redis and
outlive a test, so a shared address would let one test throttle the next."""

from __future__ import annotations

import secrets

import pytest
from django.test import Client


def fresh_address() -> str:
    return "10." + ".".join(str(secrets.randbelow(254) + 1) for _ in range(3))


@pytest.fixture
def client():
    return Client(REMOTE_ADDR=fresh_address())


@pytest.fixture
def other_client():
    return Client(REMOTE_ADDR=fresh_address())
