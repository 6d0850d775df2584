"""The cache backend: Django's Redis cache, with one client per connection pool.

Django's ``RedisCacheClient`` builds a new ``redis.Redis`` around its connection pool for every
cache call, and building one costs more CPU than a cache hit on loopback (redis-py fills a table
of a few hundred reply callbacks each time; ~0.2 ms). A public page reads the cache twice per
request (``seals.public_cache``: the shop's version, then the entry), the API's throttle and the
per-client limits once or twice. A client holds no connection of its own and is safe to share
between threads, so this backend builds it once per pool and reuses it; connections still come
from, and go back to, the same pool, with the same options (FA-3's socket timeouts). After a
fork redis-py's pool notices the new process and opens connections of its own.

Everything else (keys, serialisation, timeouts, the ``OPTIONS``) stays Django's.
"""

from __future__ import annotations

from functools import cached_property

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(redis.RedisCache):
    @cached_property
    def _cache(self):
        return RedisCacheClient(self._servers, **self._options)
