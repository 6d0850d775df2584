"""The Google product-ratings feed of a shop (R29, 004 §9.4), schema 2.3.

Google accepts reviews from verified purchases collected within 90 days of the purchase
invitation; so the feed lists only published, transaction-based product reviews with text that
were submitted at most 90 days after their invitation was created. :func:`feed_decision` is the
one place that decides, and it also says why a review is left out (shown to staff in the admin
until the customer backend shows it).
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from companies.models import Shop
from reviews.models import Review
from seals.text import xml_text

SCHEMA_VERSION = "2.3"
SCHEMA_LOCATION = (
    f"http://www.google.com/shopping/reviews/schema/product/{SCHEMA_VERSION}/product_reviews.xsd"
)
MAX_DAYS_AFTER_INVITATION = 90
PLATFORM_NAME = "Review platform"

INCLUDED = "included"
REASONS = {
    INCLUDED: _("In the feed: a published product review from a verified order, with text."),
    "merchant": _("Out: a review of the shop, not of a product; the feed carries product reviews."),
    "not_published": _("Out: not published."),
    "not_transaction": _("Out: not based on an order (non-transaction-based, R14)."),
    "no_invitation": _(
        "Out: its invitation is no longer on record, so the 90 days cannot be shown."
    ),
    "late": _("Out: submitted more than 90 days after the invitation; Google does not accept it."),
    "no_text": _("Out: no text; Google requires review content."),
}


@dataclass(frozen=True)
class FeedDecision:
    review: Review
    reason: str

    @property
    def included(self) -> bool:
        return self.reason == INCLUDED

    @property
    def explanation(self) -> str:
        return str(REASONS[self.reason])


def feed_reason(review: Review) -> str:
    """Why ``review`` is in the feed (``INCLUDED``) or the first reason it is not."""
    if review.kind != Review.Kind.PRODUCT:
        return "merchant"
    if review.status != Review.Status.PUBLISHED:
        return "not_published"
    if not review.is_transaction_based:
        return "not_transaction"
    if review.invitation is None:
        return "no_invitation"
    limit = review.invitation.created_at + datetime.timedelta(days=MAX_DAYS_AFTER_INVITATION)
    if review.submitted_at > limit:
        return "late"
    if not review.comment.strip():
        return "no_text"
    return INCLUDED


def shop_reviews(shop: Shop) -> QuerySet[Review]:
    """Every review of the shop, newest first, with what :func:`feed_reason` reads."""
    return (
        Review.objects.for_company(shop.company_id)
        .filter(shop=shop)
        .select_related("product", "invitation")
        .order_by("-submitted_at", "-id")
    )


def feed_decisions(reviews: Iterable[Review]) -> list[FeedDecision]:
    """The feed's decision about each review, with its reason (for staff)."""
    return [FeedDecision(review, feed_reason(review)) for review in reviews]


def feed_reviews(*, shop: Shop) -> list[Review]:
    """The reviews the feed lists, newest first, in one query."""
    candidates = shop_reviews(shop).filter(
        kind=Review.Kind.PRODUCT,
        status=Review.Status.PUBLISHED,
        is_transaction_based=True,
        invitation__isnull=False,
    )
    return [review for review in candidates if feed_reason(review) == INCLUDED]


def _text(parent: ET.Element, tag: str, value: str, **attributes: str) -> ET.Element:
    node = ET.SubElement(parent, tag, attributes)
    node.text = xml_text(value)
    return node


def _product(parent: ET.Element, review: Review, certificate: str) -> None:
    product = review.product
    node = ET.SubElement(ET.SubElement(parent, "products"), "product")
    ids = ET.SubElement(node, "product_ids")
    for group, tag, value in (
        ("gtins", "gtin", product.gtin),
        ("mpns", "mpn", product.mpn),
        ("skus", "sku", product.sku or product.product_id),
        ("brands", "brand", product.brand),
    ):
        if value:
            _text(ET.SubElement(ids, group), tag, value)
    _text(node, "product_name", product.name)
    product_page = f"{certificate}?{urlencode({'product': product.product_id})}"
    _text(node, "product_url", product.link or product_page)


def _review(parent: ET.Element, review: Review, certificate: str) -> None:
    node = ET.SubElement(parent, "review")
    _text(node, "review_id", str(review.pk))
    reviewer = ET.SubElement(node, "reviewer")
    if review.display_name:
        _text(reviewer, "name", review.display_name)
    else:
        _text(reviewer, "name", "Anonymous", is_anonymous="true")
    _text(node, "is_verified_purchase", "true")  # only invitation-based reviews get here
    _text(node, "is_incentivized_review", "false")  # the platform offers no incentives (R23)
    timestamp = review.submitted_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _text(node, "review_timestamp", timestamp)
    _text(node, "content", review.comment)
    query = urlencode({"product": review.product.product_id})
    _text(node, "review_url", f"{certificate}?{query}#review-{review.pk}", type="group")
    ratings = ET.SubElement(node, "ratings")
    _text(ratings, "overall", str(review.rating), min="1", max="5")
    _product(node, review, certificate)
    _text(node, "is_spam", "false")
    # Invited after the order or delivery date (R7): Google's "post_fulfillment".
    _text(node, "collection_method", "post_fulfillment")


def product_ratings_feed(*, shop: Shop) -> bytes:
    """The feed document, UTF-8 XML."""
    certificate = settings.SITE_URL + reverse("seals:certificate", args=[shop.slug])
    feed = ET.Element(
        "feed",
        {
            "xmlns:vc": "http://www.w3.org/2007/XMLSchema-versioning",
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:noNamespaceSchemaLocation": SCHEMA_LOCATION,
        },
    )
    _text(feed, "version", SCHEMA_VERSION)
    _text(ET.SubElement(feed, "aggregator"), "name", PLATFORM_NAME)
    publisher = ET.SubElement(feed, "publisher")
    _text(publisher, "name", shop.name)
    reviews = ET.SubElement(feed, "reviews")
    for review in feed_reviews(shop=shop):
        _review(reviews, review, certificate)
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
