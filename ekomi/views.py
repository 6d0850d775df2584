"""Platform-level views: health check and the debug-only mailbox of the embedded mode."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found

from ekomi.mail import mailbox_messages

logger = logging.getLogger(__name__)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure means "down"; the log has the detail
        logger.exception("health check: database unreachable")
        return "down"
    return "ok"


def _check_redis() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        client.ping()
    except redis.RedisError:
        logger.exception("health check: redis unreachable")
        return "down"
    return "ok"


@require_GET
@never_cache
def healthz(request):
    """Liveness and dependencies: 200 when everything configured answers, else 503."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(value != "down" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


@never_cache
def mailbox(request):
    """Embedded mode only: the emails the platform 'sent', written to var/mail/."""
    if not settings.DEBUG:
        raise Http404
    return render(request, "dev/mailbox.html", {"messages_": mailbox_messages()})


def not_found(request, exception):
    """404 for every path: JSON under /api/ (clients parse it), the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)
