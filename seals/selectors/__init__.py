"""Reads for the public surfaces of a shop: seals, reviews, distribution, transparency (R24-R29).

Every query names the shop's company: public pages run without a tenant scope, and the slug in
the URL is what names the tenant. One module per surface: ``shop`` (the shop behind a public URL
and its seal statuses), ``certificate`` (the review list and the numbers of the certificate
page), ``widget`` (the widget's sample); ``statements`` builds their hand-written SQL.
"""

from seals.selectors.certificate import (
    RATING_BANDS,
    REVIEWS_PER_PAGE,
    PublicComment,
    PublicProduct,
    PublicReview,
    ReviewFilter,
    ReviewNumbers,
    Transparency,
    review_list_published,
    review_numbers,
    review_page,
)
from seals.selectors.shop import (
    ShopSeals,
    product_seals,
    public_shop,
    seal_status_for,
    shows_tier,
)
from seals.selectors.widget import WIDGET_SAMPLE, WidgetReview, widget_product, widget_reviews

__all__ = [
    "RATING_BANDS",
    "REVIEWS_PER_PAGE",
    "WIDGET_SAMPLE",
    "PublicComment",
    "PublicProduct",
    "PublicReview",
    "ReviewFilter",
    "ReviewNumbers",
    "ShopSeals",
    "Transparency",
    "WidgetReview",
    "product_seals",
    "public_shop",
    "review_list_published",
    "review_numbers",
    "review_page",
    "seal_status_for",
    "shows_tier",
    "widget_product",
    "widget_reviews",
]
