"""The cache backend: Django's Redis cache with one client per connection pool (issue 12; FA-3:
a Redis outage still fails fast)."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

from ekomi.cache import RedisCache, RedisCacheClient


def _key() -> str:
    return f"cache-test-{uuid.uuid4().hex}"


def test_it_is_the_configured_backend():
    """Issue 12: production, tests and the benchmark run the same backend (settings)."""
    assert isinstance(caches["default"], RedisCache)
    assert isinstance(caches["default"]._cache, RedisCacheClient)


def test_it_reuses_one_client_per_connection_pool():
    """Issue 12: a cache call no longer builds a redis-py client; each pool keeps one."""
    client = cache._cache
    first = client.get_client(write=False)
    assert client.get_client(write=True) is first  # one server: reads and writes share a pool
    assert first.connection_pool is client._get_connection_pool(write=True)
    # Django's own client builds a new one on every call: what this backend is for.
    assert DjangoRedisCacheClient.get_client(client, write=True) is not first


def test_it_reads_and_writes_like_djangos_backend():
    """Issue 12: keys, values, counters and expiry behave as with Django's Redis backend."""
    key = _key()
    assert cache.get(key) is None
    assert cache.add(key, {"average": 4.5}, timeout=30)
    assert not cache.add(key, "other")
    assert cache.get(key) == {"average": 4.5}
    counter = _key()
    cache.set(counter, 1, timeout=30)
    assert cache.incr(counter, 2) == 3
    assert cache.get_many([key, counter]) == {key: {"average": 4.5}, counter: 3}
    cache.set(key, "brief", timeout=1)
    time.sleep(1.2)
    assert cache.get(key) is None


def test_it_counts_exactly_from_many_threads():
    """AB-2, issue 12: the shared client is safe between a worker's threads; ``incr`` stays
    atomic, so per-client limits cannot overshoot."""
    key = _key()
    cache.set(key, 0, timeout=30)

    def count() -> None:
        for _ in range(50):
            caches["default"].incr(key)

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert cache.get(key) == 400


def test_it_works_in_a_forked_process():
    """Issue 12: gunicorn and Celery fork their workers after the cache was used; the child's
    commands go over connections of its own, not the parent's."""
    key = _key()
    cache.set(key, "parent", timeout=30)
    parent_connection = cache._cache.get_client().connection_pool.get_connection()
    cache._cache.get_client().connection_pool.release(parent_connection)
    pid = os.fork()
    if pid == 0:  # the child: exit status 0 only if it read and wrote through its own pool
        try:
            child_client = cache._cache.get_client()
            ok = cache.get(key) == "parent"
            cache.set(key, "child", timeout=30)
            connection = child_client.connection_pool.get_connection()
            ok = ok and connection is not parent_connection
            child_client.connection_pool.release(connection)
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert cache.get(key) == "child"


def test_it_fails_fast_when_redis_is_down_fa_3(settings):
    """FA-3: with Redis gone a cache call raises within its socket timeout, as before."""
    settings.CACHES = {
        "default": {
            "BACKEND": "ekomi.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    started = time.monotonic()
    with pytest.raises(Exception, match="(?i)connect"):
        caches["default"].get(_key())
    assert time.monotonic() - started < 10
