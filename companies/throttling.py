"""Per-key API rate limit with 429 and Retry-After (TESTPLAN AU-6, LO-3).

A fixed one-minute window per API key, counted with the cache's atomic ``incr`` (Redis in
production), so a burst of parallel requests overshoots by at most the window's rounding — unlike
DRF's cache throttle, whose read-modify-write loses counts under concurrency. One noisy shop never
uses up another shop's budget: the key is the API key itself.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

WINDOW_SECONDS = 60


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
            count = cache.incr(key)
        except ValueError:  # the window's first request
            cache.add(key, 0, timeout=2 * WINDOW_SECONDS)
            count = cache.incr(key)
        return count <= settings.API_RATE_LIMIT_PER_MINUTE

    def wait(self) -> int:
        return getattr(self, "_retry_after", WINDOW_SECONDS)
