"""Reactions to other apps' signals: a changed review recomputes its shop (R26)."""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError as BrokerUnavailable

from seals import public_cache, services

logger = logging.getLogger(__name__)


def review_changed(sender, *, company_id: int, shop_id: int, product_ids=(), **kwargs) -> None:
    """Sent after commit when reviews were published, changed, unpublished or deleted.

    The shop's cached public responses are retired at once, so a new or changed text shows on
    the next request, even when the numbers did not move. The recompute of the merchant seal
    and every product average (``product_ids`` are covered by the shop-wide recompute) is queued
    as ``seals.recompute_shop_seal``, which bumps the caches again when it has written: the
    submitting evaluator never waits for it, and a burst of reviews of one shop costs the
    worker one recompute per message (each reads every committed review, so none is lost).
    Without a broker the recompute runs here, as before; the nightly sweep is the backstop.
    """
    from seals.tasks import recompute_shop_seal  # the task module imports the services

    public_cache.public_cache_bump(shop_id=shop_id)
    try:
        recompute_shop_seal.apply_async(args=[shop_id], retry=False)  # a dead broker: at once
    except BrokerUnavailable:
        logger.warning("seal recompute of shop %s runs inline: the broker is unavailable", shop_id)
        services.seal_recompute(shop_id=shop_id)


def shop_enforcement_changed(sender, *, shop_id: int, **kwargs) -> None:
    """R30: staff switched a surface, the seal or the ratings of a shop on or off.

    The flags are part of every cache key and read on every request, so this is belt and
    braces: it also retires entries whose bytes mention what changed (e.g. "ratings stopped").
    """
    public_cache.public_cache_bump(shop_id=shop_id)
