"""Per-key API rate limit with 429 and Retry-After (TESTPLAN AU-6, LO-3).

A fixed one-minute window per API key, counted with the cache's atomic ``incr`` (Redis in
production), so a burst of parallel requests overshoots by at most the window's rounding — unlike
DRF's cache throttle, whose read-modify-write loses counts under concurrency. One noisy shop never
uses up another shop's budget: the key is the API key itself.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

WINDOW_SECONDS = 60
logger = logging.getLogger(__name__)


class ApiKeyRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        api_key = request.auth
        if api_key is None or not hasattr(api_key, "prefix"):
            return True  # unauthenticated requests are refused by authentication anyway
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        self._retry_after = WINDOW_SECONDS - int(now % WINDOW_SECONDS)
        key = f"api-rate:{api_key.prefix}:{window}"
        try:
            count = self._count(key)
        except Exception as exc:  # a cache outage must not fail the API (FA-3)
            logger.warning("api rate limit not checked: cache unavailable (%s)", type(exc).__name__)
            return True
        return count <= settings.API_RATE_LIMIT_PER_MINUTE

    @staticmethod
    def _count(key: str) -> int:
        """This request's number in the window: atomic on Redis; a cache that keeps nothing
        (``DummyCache``) counts every request as the first."""
        try:
            return cache.incr(key)
        except ValueError:  # no counter yet: the window's first request, unless one races us
            if cache.add(key, 1, timeout=2 * WINDOW_SECONDS):
                return 1
            try:
                return cache.incr(key)
            except ValueError:
                return 1

    def wait(self) -> int:
        return getattr(self, "_retry_after", WINDOW_SECONDS)
