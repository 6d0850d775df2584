"""Per-client limits for public forms and links, and the client's address (AB-2).

Counters live in the shared cache (Redis in production): ``incr`` is atomic there, so parallel
requests cannot overshoot. ``X-Forwarded-For`` is believed only when the request comes from a
proxy listed in ``TRUSTED_PROXIES``, so a client cannot reset its own counter with a header.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and remote in settings.TRUSTED_PROXIES:
        # The last address was added by our own proxy; everything before it the client can forge.
        return forwarded.split(",")[-1].strip() or remote
    return remote


def _key(request, scope: str, window_seconds: int) -> str:
    window = int(time.time() // window_seconds)
    return f"ratelimit:{scope}:{client_ip(request) or '-'}:{window}"


def limit_reached(request, *, scope: str, limit: int, window_seconds: int) -> bool:
    """Whether this client already used up ``limit`` in the window, without counting."""
    return (cache.get(_key(request, scope, window_seconds)) or 0) >= limit


def limit_exceeded(request, *, scope: str, limit: int, window_seconds: int) -> bool:
    """Count one more event for this client in ``scope``; True once past ``limit`` per window."""
    key = _key(request, scope, window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # the first event of the window
        cache.add(key, 0, timeout=2 * window_seconds)
        count = cache.incr(key)
    return count > limit
