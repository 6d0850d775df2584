"""Reactions to other apps' signals: a changed review recomputes its shop (R26)."""

from __future__ import annotations

from seals import public_cache, services


def review_changed(sender, *, company_id: int, shop_id: int, product_ids=(), **kwargs) -> None:
    """Sent after commit when reviews were published, changed, unpublished or deleted.

    Recomputes the shop's merchant seal and every product average (``product_ids`` are covered
    by the shop-wide recompute) and retires the shop's cached public responses, also when only a
    text changed and the numbers did not.
    """
    try:
        services.seal_recompute(shop_id=shop_id)
    finally:
        # Even if the recompute failed, the page must not keep serving the old text.
        public_cache.public_cache_bump(shop_id=shop_id)


def shop_enforcement_changed(sender, *, shop_id: int, **kwargs) -> None:
    """R30: staff switched a surface, the seal or the ratings of a shop on or off.

    The flags are part of every cache key and read on every request, so this is belt and
    braces: it also retires entries whose bytes mention what changed (e.g. "ratings stopped").
    """
    public_cache.public_cache_bump(shop_id=shop_id)
