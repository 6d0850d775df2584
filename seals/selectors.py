"""Reads for the public surfaces: seal status and published reviews of a shop."""

from __future__ import annotations

from django.db.models import QuerySet

from companies.models import Shop
from reviews.models import Review
from seals.models import SealStatus


def seal_status_for(*, shop: Shop) -> SealStatus | None:
    return (
        SealStatus.objects.for_company(shop.company_id)
        .filter(shop=shop, product__isnull=True)
        .first()
    )


def review_list_published(*, shop: Shop, limit: int = 20) -> QuerySet[Review]:
    return (
        Review.objects.for_company(shop.company_id)
        .filter(shop=shop, kind=Review.Kind.MERCHANT, status=Review.Status.PUBLISHED)
        .order_by("-submitted_at")[:limit]
    )
