"""Helpers for the seals tests: many reviews fast, and the widget's data out of its script."""

from __future__ import annotations

import datetime
import json

import pytest
from django.utils import timezone

from reviews.models import Review
from reviews.signals import review_changed
from seals import widget
from seals.services import seal_recompute

HOSTILE = ("</text><script>alert(1)</script>", '"};alert(1);//', "]]>")


def make_reviews(
    shop, ratings, *, days_ago=1, publish_delay=datetime.timedelta(0), **fields
) -> list[Review]:
    """Published transaction-based merchant reviews, newest first by index, one bulk insert.

    The rows are a microsecond apart, so they share one local day (and one rendered date)
    whatever the hour the test runs at; minutes apart, a run just after midnight gave the
    widget's random sample a mix of two dates."""
    now = timezone.now()
    fields = {
        "kind": Review.Kind.MERCHANT,
        "status": Review.Status.PUBLISHED,
        "is_transaction_based": True,
        "comment": "Quick delivery, well packed.",
        **fields,
    }
    rows = []
    for index, rating in enumerate(ratings):
        when = now - datetime.timedelta(days=days_ago, microseconds=index)
        rows.append(
            Review(
                company_id=shop.company_id,
                shop=shop,
                rating=rating,
                submitted_at=when,
                published_at=when + (publish_delay or datetime.timedelta(0)),
                **fields,
            )
        )
    return Review.objects.for_company(shop.company_id).bulk_create(rows)


def announce(shop, product_ids=()) -> None:
    """What reviews.services does after commit when reviews change (R26)."""
    review_changed.send(
        sender=Review, company_id=shop.company_id, shop_id=shop.pk, product_ids=set(product_ids)
    )


def widget_data(response) -> dict:
    body = response.content.decode()
    code = widget.code()
    assert body.startswith(code + "(") and body.endswith(");\n")
    return json.loads(body[len(code) + 1 : -3])


@pytest.fixture
def gold_shop(shop):
    """``shop`` with 50 five-star reviews: a gold seal, recomputed."""
    make_reviews(shop, [5] * 50)
    seal_recompute(shop_id=shop.pk)
    return shop
