"""A second backend client; like ``client`` (tests/conftest.py) it has an address of its own."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import fresh_address


@pytest.fixture
def other_client():
    return Client(REMOTE_ADDR=fresh_address())
