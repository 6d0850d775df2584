"""The Celery broker transport: kombu's Redis transport with one client per channel (issue 12,
bench figure "rating submissions"; FA-3: a broker outage still fails fast)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from ekomi.broker import Channel
from ekomi.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def test_it_sends_every_command_of_a_channel_through_one_client():
    """Issue 12: a publish no longer builds a redis-py client; the channel keeps one."""
    with celery_app.connection_for_write() as connection:
        channel = connection.default_channel
        assert isinstance(channel, Channel)
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert first.connection_pool is channel.pool
        given = object()
        with channel.conn_or_acquire(given) as client:
            assert client is given  # an explicit client (a pipeline) is used as it is


def test_it_delivers_what_it_publishes_in_order():
    """FA-3 (c): messages published through the shared client reach a consumer, in order."""
    name = f"test-broker-{uuid.uuid4().hex}"
    with celery_app.connection_for_write() as connection:
        queue = connection.SimpleQueue(name)
        try:
            for n in range(3):
                queue.put({"n": n})
            received = []
            for _ in range(3):
                message = queue.get(timeout=5)
                received.append(message.payload["n"])
                message.ack()
            assert received == [0, 1, 2]
        finally:
            queue.clear()
            queue.close()


def test_it_uses_the_transport_wherever_the_broker_is_redis():
    """Issue 12: production selects the transport for a Redis broker; a TLS broker
    (``rediss://``) keeps kombu's, which sets up TLS from the URL, and there is kombu's
    filesystem transport when there is no Redis (the embedded defaults)."""
    code = (
        "import django; django.setup(); from ekomi.celery import app; "
        "c = app.connection_for_write(); print(c.transport_cls)"
    )
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL"}}
    base.update(
        DJANGO_SETTINGS_MODULE="ekomi.settings.production",
        ALLOWED_HOSTS="example.com",
        SECRET_KEY="x" * 50,
        DATABASE_URL="postgres://u@127.0.0.1/x",
    )
    with_redis = {**base, "REDIS_URL": "redis://127.0.0.1:6379/9"}
    with_tls = {**base, "REDIS_URL": "rediss://127.0.0.1:6380/9"}
    without = {k: v for k, v in base.items() if k != "REDIS_URL"}
    found = []
    for env in (with_redis, with_tls, without):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        found.append(done.stdout.strip())
    assert found == ["ekomi.broker:Transport", "rediss", "filesystem"]
