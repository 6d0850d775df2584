"""Writes of the seals app: recompute averages and tiers (R24-R26), invalidate public caches.

A recompute is a pure function of the published transaction-based reviews submitted in the last
12 calendar months, so running it twice changes nothing. History gets a row only when a status
changes. ``seals.recompute`` holds the SQL; this module says when it runs and what follows.
"""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone

from seals import public_cache, recompute
from seals.models import SealStatus

public_cache_bump = public_cache.public_cache_bump


def window_start(today: datetime.date) -> datetime.datetime:
    """The first instant of the 12-month window ending today (R24), inclusive.

    A review submitted 12 months minus a day ago counts; 12 months plus a day ago does not.
    """
    start = today - relativedelta(months=12)
    return datetime.datetime.combine(
        start, datetime.time.min, tzinfo=timezone.get_current_timezone()
    )


def seal_recompute(*, shop_id: int, today: datetime.date | None = None) -> SealStatus:
    """Recompute the merchant seal and every product average of one shop (R13, R26).

    Records history for each status that changed and moves "Status as of" to today. The shop's
    public caches are invalidated once the transaction commits.
    """
    today = today or timezone.localdate()
    recompute.recompute(shop_id=shop_id, since=window_start(today), today=today)
    # After the recompute's own transaction, or after the caller's if it runs inside one.
    transaction.on_commit(lambda: public_cache.public_cache_bump(shop_id=shop_id))
    # Deliberately by shop id alone: the shop's own company is the row's company.
    return SealStatus.objects.unscoped().get(shop_id=shop_id, product__isnull=True)


def seals_recompute_all(*, today: datetime.date | None = None) -> int:
    """The nightly job: every shop and product in a fixed number of queries (R26).

    Returns the number of statuses created, changed or re-dated (0 on a second run the same
    day). Every public cache is invalidated at once after commit ("Status as of" moved).
    """
    today = today or timezone.localdate()
    updated = recompute.recompute(shop_id=None, since=window_start(today), today=today)
    transaction.on_commit(public_cache.public_cache_bump_all)
    return updated
