"""The SMTP sink the send tests share: a real server on 127.0.0.1 (tests/live/sink.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live.sink import CountingHandler, CountingSink, send_to


@pytest.fixture(params=[True, False], ids=["pipelining", "one-command-at-a-time"])
def sink(settings, request) -> Iterator[CountingHandler]:
    """Once offering PIPELINING (RFC 2920) as production relays do, once not."""
    server = CountingSink().start()
    server.handler.offer_pipelining(request.param)
    send_to(settings, server.port)
    yield server.handler
    server.stop()
