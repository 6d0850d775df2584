"""The Celery broker transport: kombu's Redis transport, with one client per channel.

kombu's Redis channel builds a new ``redis.Redis`` client around its connection pool for every
command it sends outside the consumer loop, a publish included, and building one costs more CPU
than sending the message (redis-py fills a table of a few hundred reply callbacks each time).
A client holds no connection of its own and is safe to share between threads, so this channel
builds it once and reuses it; connections still come from, and go back to, the same pool.
The figure it moves is ``bench``'s "rating submissions": every submission queues its screening.

Selected with ``CELERY_BROKER_TRANSPORT`` (``ekomi/settings/base.py``) for a ``redis://``
broker; the URL, its options and everything else stay kombu's. A ``rediss://`` broker keeps
kombu's transport as named by the URL: kombu derives its TLS settings from that name, which an
explicitly chosen transport would lose.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cached_property

from kombu.transport import redis


class Channel(redis.Channel):
    @cached_property
    def _shared_client(self):
        return self._create_client()

    @contextmanager
    def conn_or_acquire(self, client=None):
        yield client or self._shared_client


class Transport(redis.Transport):
    Channel = Channel


def redis_client():
    """A client of the Celery broker's Redis, or None when the broker is not Redis.

    For the few lists the platform keeps beside the broker's queues (``reviews.screening``);
    one client per broker URL, with the broker's socket timeouts, so a hung Redis fails fast.
    Called on every rating submission: it reads the broker URL and nothing else when the
    client exists.
    """
    from ekomi.celery import app

    url = app.conf.broker_url or ""
    client = _clients.get(url)
    if client is None and url.startswith(("redis://", "rediss://")):
        client = _clients[url] = _client(app, url)
    return client


_clients: dict = {}


def _client(app, url: str):
    import redis as redis_py

    options = app.conf.broker_transport_options or {}
    tls = app.conf.broker_use_ssl if url.startswith("rediss://") else None
    return redis_py.Redis.from_url(
        url,
        socket_timeout=options.get("socket_timeout"),
        socket_connect_timeout=options.get("socket_connect_timeout"),
        **(tls if isinstance(tls, dict) else {}),
    )
