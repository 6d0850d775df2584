"""The widget's reads (R28): one product's status and a random handful of counted reviews."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from companies.models import Product, Shop
from reviews.models import Review
from seals.models import SealStatus
from seals.selectors.certificate import COUNTED, shop_params
from seals.selectors.statements import (
    PRODUCT,
    REVIEW,
    STATUS,
    columns,
    fetch,
    instance,
    select,
)
from seals.services import window_start

WIDGET_SAMPLE = 10  # the widget shows one of these at random, chosen in the browser


_PRODUCT_COLUMNS = tuple(columns("p", Product) + columns("st", SealStatus))
_PRODUCT_WIDTH = len(Product._meta.concrete_fields)
_PRODUCT_SQL = (
    f"SELECT {select(_PRODUCT_COLUMNS)} FROM {PRODUCT} p "  # noqa: S608 (names from model metadata)  # nosec B608
    f"LEFT JOIN {STATUS} st ON st.company_id = p.company_id AND st.shop_id = p.shop_id "
    "AND st.product_id = p.id "
    "WHERE p.company_id = %s AND p.shop_id = %s AND p.product_id = %s"
)


def widget_product(*, shop: Shop, product_id: str) -> tuple[Product | None, SealStatus | None]:
    """The shop's product by its own product id, with its seal status, in one query."""
    rows = fetch(_PRODUCT_SQL, [shop.company_id, shop.pk, product_id], _PRODUCT_COLUMNS)
    if not rows:
        return None, None
    row = rows[0]
    return instance(Product, row[:_PRODUCT_WIDTH]), instance(SealStatus, row[_PRODUCT_WIDTH:])


@dataclass(frozen=True)
class WidgetReview:
    rating: int
    comment: str
    submitted_at: datetime.datetime


_SAMPLE_COLUMNS = tuple(columns("w", Review, ("rating", "comment", "submitted_at")))
# The draw reads only the partial index review_widget_sample (seals migration 0004): ids of the
# counted reviews with a comment, ordered at random; the ten rows drawn are then read by id.
_SAMPLE_SQL = (
    f"SELECT {select(_SAMPLE_COLUMNS)} FROM {REVIEW} w "  # noqa: S608 (names from model metadata)  # nosec B608
    f"WHERE w.company_id = %(company)s AND w.id IN (SELECT r.id FROM {REVIEW} r "
    f"WHERE r.company_id = %(company)s AND r.shop_id = %(shop)s AND {COUNTED} "
    "AND r.comment <> '' AND {subject} ORDER BY RANDOM() LIMIT %(sample)s)"
)


def widget_reviews(*, shop: Shop, product: Product | None = None) -> list[WidgetReview]:
    """A random handful of counted reviews with a comment; the browser shows one (R28).

    Only transaction-based reviews in the window (R14, R24); the stars play no part in the
    choice (R17).
    """
    params = {
        **shop_params(shop),
        "since": connection.ops.adapt_datetimefield_value(window_start(timezone.localdate())),
        "sample": WIDGET_SAMPLE,
    }
    if product is None:
        subject = "r.kind = %(merchant)s"
    else:
        subject = "r.kind = %(product)s AND r.product_id = %(product_pk)s"
        params["product_pk"] = product.pk
    rows = fetch(_SAMPLE_SQL.replace("{subject}", subject), params, _SAMPLE_COLUMNS)
    return [WidgetReview(*row) for row in rows]
