"""Seal tiers from exact integers (R25) and the recompute's history (R24, R26)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from seals import scoring
from seals.models import SealHistory, SealStatus
from seals.services import seal_recompute
from tests import factories


@pytest.mark.parametrize(
    ("count", "total", "tier"),
    [
        (49, 49 * 5, "standard"),  # fewer than 50 reviews: standard whatever the stars
        (50, 50 * 5, "gold"),
        (50, 199, "standard"),  # 3.98
        (50, 200, "bronze"),  # exactly 4.0
        (50, 219, "bronze"),  # 4.38
        (50, 220, "silver"),  # exactly 4.4
        (50, 239, "silver"),  # 4.78
        (50, 240, "gold"),  # exactly 4.8
        (3, 14, "standard"),
        (1000, 4799, "silver"),  # 4.799: just below 4.8 must not round up
    ],
)
def test_it_gives_the_tier_of_rule_r25_with_exact_comparisons(count, total, tier):
    """R25: at least 50 reviews; thresholds 4.0, 4.4, 4.8 on the exact mean."""
    assert scoring.tier_for(count=count, total=total) == tier


@pytest.mark.parametrize(
    ("count", "total", "shown"),
    [(1000, 4799, "4.7"), (3, 14, "4.6"), (50, 240, "4.8"), (7, 7, "1.0"), (0, 0, None)],
)
def test_it_shows_the_average_rounded_down_so_it_agrees_with_the_tier(count, total, shown):
    """R25: one decimal, rounded down."""
    value = scoring.displayed_average(count=count, total=total)
    assert (str(value) if value is not None else None) == shown


def test_it_counts_the_five_star_reviews_still_needed():
    # 40 reviews averaging 5.0 need 10 more to reach the minimum of 50.
    assert scoring.reviews_needed_for(count=40, total=200, tier="gold") == 10
    # 50 reviews averaging 4.0 (200): n more fives reach 4.8 when 10*(200+5n) >= 48*(50+n).
    assert scoring.reviews_needed_for(count=50, total=200, tier="gold") == 200
    assert scoring.reviews_needed_for(count=60, total=300, tier="bronze") == 0


@pytest.mark.django_db
def test_it_recomputes_a_shop_and_keeps_history_only_on_change(shop, other_shop):
    """R24, R26: published transaction-based merchant reviews of 12 months; history on change."""
    today = timezone.localdate()
    now = timezone.now()
    factories.ReviewFactory.create_batch(3, shop=shop, rating=5)
    factories.ReviewFactory(shop=shop, rating=1, status="deleted")
    factories.ReviewFactory(shop=shop, rating=1, submitted_at=now - datetime.timedelta(days=400))
    factories.ReviewFactory(shop=shop, rating=1, invitation=None, is_transaction_based=False)
    factories.ReviewFactory(shop=other_shop, rating=1)
    status = seal_recompute(shop_id=shop.pk, today=today)
    assert (status.review_count, status.rating_sum, status.tier) == (3, 15, "standard")
    assert status.average == Decimal("5.0")
    seal_recompute(shop_id=shop.pk, today=today)
    assert SealHistory.objects.for_company(shop.company).count() == 1
    factories.ReviewFactory(shop=shop, rating=2)
    seal_recompute(shop_id=shop.pk, today=today)
    assert SealHistory.objects.for_company(shop.company).count() == 2
    assert SealStatus.objects.for_company(other_shop.company).count() == 0
