"""Helpers for calling ``/v3/<method>`` the way eKomi's clients do (raw query strings)."""

from __future__ import annotations

import pytest

PASSWORD = "interface-password"  # tests.factories.ShopFactory


def unserialize(body: bytes):
    """An independent PHP ``unserialize()`` for the tests (not compat.php): recursive descent
    over a bytes cursor, lengths in bytes, arrays returned as dicts."""
    value, rest = _parse(body)
    assert rest == b"", rest
    return value


def _parse(data: bytes):
    if data[:2] == b"N;":
        return None, data[2:]
    tag, data = data[:1], data[2:]
    if tag in (b"i", b"b", b"d"):
        text, _, data = data.partition(b";")
        number = float(text) if tag == b"d" else int(text)
        return (bool(number) if tag == b"b" else number), data
    if tag == b"s":
        size, _, data = data.partition(b":")
        n = int(size)
        assert data[:1] == b'"' and data[n + 1 : n + 3] == b'";', data[: n + 3]
        return data[1 : n + 1].decode("utf-8"), data[n + 3 :]
    assert tag == b"a", tag
    count, _, data = data.partition(b":")
    assert data[:1] == b"{"
    data, result = data[1:], {}
    for _ in range(int(count)):
        key, data = _parse(data)
        result[key], data = _parse(data)
    assert data[:1] == b"}"
    return result, data[1:]


@pytest.fixture
def auth(shop):
    return f"{shop.interface_id}|{PASSWORD}"
