"""Reads of reviews for the customer backend (R2, R15, R16, R20, R22).

Nothing here returns the evaluator's addresses (R16). Texts the company reads are the stored,
checked texts: a version's text as written is passed through the same automatic check before it
is shown, and a text a moderator replaced is not shown at all (R18).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import QuerySet
from django.http import Http404

from companies.models import Company, Product, Shop
from companies.tenancy import access_object
from moderation import checks
from reviews.models import (
    CompanyComment,
    DialogueMessage,
    DialogueThread,
    Review,
    ReviewMedia,
    ReviewVersion,
)

# Reviews arrive in any language of the shop's customers (German, English, ...), often mixed;
# 'simple' lowercases and splits words without language-specific stemming or stop words, so a
# search finds the word the company typed in every language alike. The GIN index
# ``review_comment_fts`` is built on exactly this expression.
SEARCH_CONFIG = "simple"


def review_search_vector() -> SearchVector:
    return SearchVector("comment", config=SEARCH_CONFIG)


@dataclass(frozen=True)
class ReviewFilters:
    stars: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    product: Product | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    with_comment: bool = False
    text: str = ""


def review_list_for_shop(*, shop: Shop, filters: ReviewFilters | None = None) -> QuerySet[Review]:
    """The shop's reviews of every status, newest first, filtered; one query per page."""
    filters = filters or ReviewFilters()
    reviews = (
        Review.objects.for_company(shop.company_id)
        .filter(shop=shop)
        .select_related("product", "company_comment")
        .order_by("-submitted_at", "-id")
    )
    if filters.stars:
        reviews = reviews.filter(rating__in=filters.stars)
    if filters.statuses:
        reviews = reviews.filter(status__in=filters.statuses)
    if filters.product is not None:
        reviews = reviews.filter(product=filters.product)
    if filters.date_from:
        reviews = reviews.filter(submitted_at__date__gte=filters.date_from)
    if filters.date_to:
        reviews = reviews.filter(submitted_at__date__lte=filters.date_to)
    if filters.with_comment:
        reviews = reviews.exclude(comment="")
    if filters.text.strip():
        query = SearchQuery(filters.text, config=SEARCH_CONFIG, search_type="websearch")
        reviews = reviews.annotate(search=review_search_vector()).filter(search=query)
    return reviews


def products_of_shop(shop: Shop) -> QuerySet[Product]:
    return Product.objects.for_company(shop.company_id).filter(shop=shop).order_by("name", "pk")


def access_review(*, company: Company | int, shop: Shop | None, review_id: int) -> Review:
    """A review of the shop chosen in the backend; another shop's or company's is a 404."""
    if shop is None:
        raise Http404("No shop is chosen.")
    return access_object(Review, company=company, shop=shop, pk=review_id)


@dataclass(frozen=True)
class VersionRow:
    version: int
    rating: int
    created_at: datetime.datetime
    text: str | None  # None: replaced by a moderator, not shown (R18)
    by_moderator: bool


@dataclass(frozen=True)
class ReviewDetail:
    review: Review
    versions: list[VersionRow]
    media: list[ReviewMedia]
    comment: CompanyComment | None
    thread: DialogueThread | None
    messages: list[DialogueMessage]
    complaints: list


def _version_rows(review: Review, versions: Iterable[ReviewVersion]) -> list[VersionRow]:
    versions = list(versions)
    rows = []
    for index, version in enumerate(versions):
        following = versions[index + 1] if index + 1 < len(versions) else None
        replaced = following is not None and following.edited_by_id is not None
        if review.status == Review.Status.DELETED or replaced:
            text = None
        else:
            # Versions keep the text as written; the company sees it checked (R18).
            text = checks.check_text(version.comment).text
        rows.append(
            VersionRow(
                version=version.version,
                rating=version.rating,
                created_at=version.created_at,
                text=text,
                by_moderator=version.edited_by_id is not None,
            )
        )
    return rows


def review_detail(review: Review, *, complaints: list) -> ReviewDetail:
    """Everything the backend shows about one review; ``complaints`` come from moderation."""
    company = review.company_id
    versions = ReviewVersion.objects.for_company(company).filter(review=review).order_by("version")
    media = ReviewMedia.objects.for_company(company).filter(review=review).order_by("pk")
    comment = CompanyComment.objects.for_company(company).filter(review=review).first()
    thread = DialogueThread.objects.for_company(company).filter(review=review).first()
    messages: list[DialogueMessage] = []
    if thread is not None:
        messages = [
            m
            for m in DialogueMessage.objects.for_company(company).filter(thread=thread)
            if m.status == DialogueMessage.Status.PUBLISHED
            or (m.sender == DialogueMessage.Sender.COMPANY and m.status != m.Status.PUBLISHED)
        ]
    return ReviewDetail(
        review=review,
        versions=_version_rows(review, versions),
        media=list(media),
        comment=comment,
        thread=thread,
        messages=messages,
        complaints=complaints,
    )
