"""Recompute averages and seal tiers from the source rows (R24-R26).

A recompute is a pure function of the published transaction-based reviews of the last 12
calendar months, so running it twice changes nothing. History gets a row only when the status
changes.
"""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from companies.models import Shop
from reviews.models import Review
from seals import scoring
from seals.models import SealHistory, SealStatus


def window_start(today: datetime.date) -> datetime.datetime:
    """The first instant of the 12-month window ending today (R24)."""
    start = today - relativedelta(months=12)
    return datetime.datetime.combine(
        start, datetime.time.min, tzinfo=timezone.get_current_timezone()
    )


def seal_recompute(*, shop_id: int, today: datetime.date | None = None) -> SealStatus:
    """Recompute the merchant seal of one shop; records history when the status changed."""
    today = today or timezone.localdate()
    shop = Shop.objects.unscoped().only("id", "company_id").get(pk=shop_id)
    totals = (
        Review.objects.for_company(shop.company_id)
        .filter(
            shop_id=shop_id,
            kind=Review.Kind.MERCHANT,
            status=Review.Status.PUBLISHED,
            is_transaction_based=True,
            submitted_at__gte=window_start(today),
        )
        .aggregate(count=Count("id"), total=Sum("rating"))
    )
    count, total = totals["count"], totals["total"] or 0
    values = {
        "review_count": count,
        "rating_sum": total,
        "tier": scoring.tier_for(count=count, total=total),
    }
    with transaction.atomic():
        current = (
            SealStatus.objects.for_company(shop.company_id)
            .select_for_update()
            .filter(shop_id=shop_id, product__isnull=True)
            .first()
        )
        if current is not None and all(getattr(current, k) == v for k, v in values.items()):
            if current.status_as_of != today:
                current.status_as_of = today
                current.save(update_fields=["status_as_of", "updated_at"])
            return current
        if current is None:
            current = SealStatus(company_id=shop.company_id, shop_id=shop_id, **values)
        for key, value in values.items():
            setattr(current, key, value)
        current.status_as_of = today
        current.save()
        SealHistory.objects.for_company(shop.company_id).create(
            company_id=shop.company_id, shop_id=shop_id, status_as_of=today, **values
        )
    return current


def seals_recompute_all(*, today: datetime.date | None = None) -> int:
    """The nightly job: every shop's seal. Returns the number of shops."""
    # Deliberately cross-tenant: the nightly sweep covers every shop.
    shop_ids = list(Shop.objects.unscoped().values_list("id", flat=True))
    for shop_id in shop_ids:
        seal_recompute(shop_id=shop_id, today=today)
    return len(shop_ids)
