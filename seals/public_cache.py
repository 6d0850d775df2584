"""Cached public responses: certificate page, widget, seal image and feed (TI-5, LO-2).

Rendered bytes live in the Django cache (Redis) under a key that names the shop's id, the
shop's data version, a global generation, the shop's public state and the request variant
(surface, language, filters). So:

- one shop's change never serves another shop's bytes: the shop id is part of every key;
- ``public_cache_bump(shop_id=...)`` gives a shop a new data version, and every entry of that
  shop is unreachable at once (call it whenever the shop's public data changes; the
  ``review_changed`` receiver and the recompute do);
- ``public_cache_bump_all()`` retires every entry, after the nightly recompute moved every
  "Status as of";
- enforcement flags, the company's status and the shop's row stamp are read from the shop row
  on every request and are part of the key, so a disabled shop stops at once even if nobody
  bumped (R30, R31).

The ETag is a hash of the bytes; ``If-None-Match`` with it answers 304. A Redis outage degrades
to rendering every request (logged), never to an error page.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags

from companies.models import Shop

logger = logging.getLogger(__name__)

_VERSION_KEY = "seals:public:version:{shop_id}"
_GENERATION_KEY = "seals:public:generation"
ENTRY_SECONDS = 600  # entries are unreachable after a bump anyway; this bounds memory


def _token() -> str:
    return secrets.token_hex(8)


def public_cache_bump(*, shop_id: int) -> None:
    """Invalidate every cached public response of one shop (and only of that shop)."""
    try:
        cache.set(_VERSION_KEY.format(shop_id=shop_id), _token(), timeout=None)
    except Exception:
        # Without Redis nothing is cached either; the next request renders afresh.
        logger.exception("public cache bump failed for shop %s", shop_id)


def public_cache_bump_all() -> None:
    """Invalidate every shop's cached public responses (after the nightly recompute)."""
    try:
        cache.set(_GENERATION_KEY, _token(), timeout=None)
    except Exception:
        logger.exception("public cache generation bump failed")


def _current(found: dict, key: str) -> str:
    value = found.get(key)
    if value is None:
        value = _token()
        if not cache.add(key, value, timeout=None):
            value = cache.get(key) or value
    return value


def _shop_state(shop: Shop) -> str:
    """What the shop row itself says about its public surfaces, read on every request."""
    company = shop.company
    return ".".join(
        str(part)
        for part in (
            int(shop.is_public),
            shop.seal_state,
            shop.updated_at.timestamp(),
            company.status,
            company.updated_at.timestamp(),
        )
    )


def entry_key(shop: Shop, *, surface: str, variant: str = "") -> str:
    """The cache key of one rendering of one shop's public surface."""
    version_key = _VERSION_KEY.format(shop_id=shop.pk)
    found = cache.get_many([version_key, _GENERATION_KEY])
    version = _current(found, version_key)
    generation = _current(found, _GENERATION_KEY)
    detail = hashlib.sha256(f"{_shop_state(shop)}|{variant}".encode()).hexdigest()[:24]
    return f"seals:public:{shop.pk}:{version}:{generation}:{surface}:{detail}"


@dataclass(frozen=True)
class Entry:
    body: bytes
    content_type: str
    status: int
    etag: str


def _entry_from(response: HttpResponse) -> Entry:
    body = response.content
    return Entry(
        body=body,
        content_type=response["Content-Type"],
        status=response.status_code,
        etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
    )


def _lookup(shop: Shop, surface: str, variant: str) -> tuple[str | None, Entry | None]:
    try:
        key = entry_key(shop, surface=surface, variant=variant)
        return key, cache.get(key)
    except Exception:
        logger.exception("public cache unavailable; rendering %s of shop %s", surface, shop.pk)
        return None, None


def _store(key: str | None, entry: Entry) -> None:
    if key is None:
        return
    try:
        cache.set(key, entry, timeout=ENTRY_SECONDS)
    except Exception:
        logger.exception("public cache write failed")


def matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    wanted = {tag.removeprefix("W/") for tag in parse_etags(header)}
    return "*" in wanted or etag in wanted


def cached_response(
    request: HttpRequest,
    *,
    shop: Shop,
    surface: str,
    render: Callable[[], HttpResponse],
    variant: str = "",
) -> HttpResponse:
    """The cached bytes of ``render()`` for this shop and variant, or 304 if the client has them.

    The caller adds headers (Cache-Control, CORS, CSP) to what this returns, 304 included.
    """
    key, entry = _lookup(shop, surface, variant)
    if entry is None:
        entry = _entry_from(render())
        _store(key, entry)
    if matches(request, entry.etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(entry.body, content_type=entry.content_type, status=entry.status)
    response["ETag"] = entry.etag
    return response
