"""Reads for the public surfaces of a shop: seals, reviews, distribution, transparency (R24-R29).

Every query names the shop's company (``for_company``): public pages run without a tenant
scope, and the slug in the URL is what names the tenant.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Aggregate, Count, DurationField, F, Prefetch, Q, QuerySet
from django.utils import timezone

from companies.models import Product, SealState, Shop
from reviews.models import Review, ReviewMedia
from seals.models import SealStatus
from seals.services import window_start

REVIEWS_PER_PAGE = 10
WIDGET_SAMPLE = 10  # the widget shows one of these at random, chosen in the browser
# Equal treatment (R17): time to publication is reported per band of stars.
RATING_BANDS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("1-2", (1, 2)),
    ("3", (3,)),
    ("4-5", (4, 5)),
)


class Median(Aggregate):
    """Postgres' continuous median; other databases use :func:`_medians_in_python`."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def _reviews(shop: Shop) -> QuerySet[Review]:
    return Review.objects.for_company(shop.company_id).filter(shop=shop)


def counted_reviews(shop: Shop, *, today: datetime.date | None = None) -> QuerySet[Review]:
    """The reviews behind the average (R24): published, transaction-based, in the window."""
    since = window_start(today or timezone.localdate())
    return _reviews(shop).filter(
        status=Review.Status.PUBLISHED, is_transaction_based=True, submitted_at__gte=since
    )


# --- Seal statuses ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopSeals:
    merchant: SealStatus | None
    products: tuple[SealStatus, ...]  # products with reviews in the window, by name

    def for_product(self, product_id: str) -> SealStatus | None:
        return next((s for s in self.products if s.product.product_id == product_id), None)


def seal_status_for(*, shop: Shop) -> SealStatus | None:
    return (
        SealStatus.objects.for_company(shop.company_id)
        .filter(shop=shop, product__isnull=True)
        .first()
    )


def shop_seals(*, shop: Shop) -> ShopSeals:
    """The shop's merchant seal and its products' averages in one query."""
    rows = list(
        SealStatus.objects.for_company(shop.company_id)
        .filter(shop=shop)
        .select_related("product")
        .order_by("product__name", "id")
    )
    merchant = next((row for row in rows if row.product_id is None), None)
    products = tuple(row for row in rows if row.product_id is not None and row.review_count)
    return ShopSeals(merchant=merchant, products=products)


def shows_tier(shop: Shop) -> bool:
    """A withdrawn or suspended seal shows no tier anywhere (R30)."""
    return shop.seal_state == SealState.ACTIVE


def rating_distribution(*, shop: Shop) -> list[tuple[int, int]]:
    """(stars, count) from 5 down to 1 over the reviews behind the merchant average."""
    counts = dict(
        counted_reviews(shop)
        .filter(kind=Review.Kind.MERCHANT)
        .values_list("rating")
        .annotate(n=Count("id"))
        .values_list("rating", "n")
    )
    return [(stars, counts.get(stars, 0)) for stars in range(5, 0, -1)]


# --- The review list ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewFilter:
    stars: int | None = None
    product_id: str = ""  # the shop's own product id; empty lists merchant reviews
    with_comment: bool = False

    @classmethod
    def from_query(cls, query) -> ReviewFilter:
        stars = query.get("stars", "")
        return cls(
            stars=int(stars) if stars in {"1", "2", "3", "4", "5"} else None,
            product_id=query.get("product", "")[:255],
            with_comment=query.get("with_comment") in {"1", "on", "true"},
        )

    def as_variant(self) -> str:
        return f"{self.stars or ''}|{self.product_id}|{int(self.with_comment)}"


def review_list_published(*, shop: Shop, filters: ReviewFilter | None = None) -> QuerySet[Review]:
    """Published reviews newest first, with their product and published photos."""
    filters = filters or ReviewFilter()
    reviews = _reviews(shop).filter(status=Review.Status.PUBLISHED)
    if filters.product_id:
        reviews = reviews.filter(kind=Review.Kind.PRODUCT, product__product_id=filters.product_id)
    else:
        reviews = reviews.filter(kind=Review.Kind.MERCHANT)
    if filters.stars:
        reviews = reviews.filter(rating=filters.stars)
    if filters.with_comment:
        reviews = reviews.exclude(comment="")
    media = ReviewMedia.objects.for_company(shop.company_id).filter(
        status=ReviewMedia.Status.PUBLISHED, kind=ReviewMedia.Kind.PHOTO
    )
    return (
        # The company's reply rides along in the same query (R22): no extra query per review.
        reviews.select_related("product", "company_comment")
        .prefetch_related(Prefetch("media", queryset=media.order_by("id"), to_attr="photos"))
        .order_by("-submitted_at", "-id")
    )


def review_page(*, shop: Shop, filters: ReviewFilter, number) -> Page:
    """One page of the list: a count and a slice, whatever the page size."""
    paginator = Paginator(review_list_published(shop=shop, filters=filters), REVIEWS_PER_PAGE)
    return paginator.get_page(number)


# --- Transparency (Omnibus directive, R17) ------------------------------------------------------


@dataclass(frozen=True)
class Transparency:
    submitted: int
    published: int
    waiting: int
    removed: dict[str, int]  # reason -> count; until R19 records reasons: by status
    median_delay: dict[str, datetime.timedelta | None] = field(default_factory=dict)

    @property
    def published_share(self) -> int | None:
        """Whole percent, rounded down, of the reviews submitted in 12 months."""
        if not self.submitted:
            return None
        return 100 * self.published // self.submitted


def _band(rating_field: str, ratings: Iterable[int]) -> Q:
    return Q(**{f"{rating_field}__in": tuple(ratings)})


def _medians_in_python(reviews: QuerySet[Review]) -> dict[str, datetime.timedelta | None]:
    delays: dict[str, list[datetime.timedelta]] = {band: [] for band, _ in RATING_BANDS}
    rows = reviews.filter(status=Review.Status.PUBLISHED, published_at__isnull=False)
    for rating, submitted_at, published_at in rows.values_list(
        "rating", "submitted_at", "published_at"
    ):
        band = next(name for name, stars in RATING_BANDS if rating in stars)
        delays[band].append(max(published_at - submitted_at, datetime.timedelta(0)))
    return {band: statistics.median(values) if values else None for band, values in delays.items()}


def transparency(*, shop: Shop) -> Transparency:
    """What happened to the reviews submitted in the last 12 months, in one query (Postgres)."""
    since = window_start(timezone.localdate())
    reviews = _reviews(shop).filter(submitted_at__gte=since)
    published = Q(status=Review.Status.PUBLISHED)
    aggregates = {
        "submitted": Count("id"),
        "published": Count("id", filter=published),
        "waiting": Count("id", filter=Q(status__in=[Review.Status.PENDING, Review.Status.HELD])),
        "unpublished": Count("id", filter=Q(status=Review.Status.UNPUBLISHED)),
        "deleted": Count("id", filter=Q(status=Review.Status.DELETED)),
    }
    in_sql = connection.vendor == "postgresql"
    if in_sql:
        delay = F("published_at") - F("submitted_at")
        for band, stars in RATING_BANDS:
            band_filter = published & Q(published_at__isnull=False) & _band("rating", stars)
            aggregates[f"median_{band}"] = Median(delay, filter=band_filter)
    values = reviews.aggregate(**aggregates)
    medians = (
        {band: values[f"median_{band}"] for band, _ in RATING_BANDS}
        if in_sql
        else _medians_in_python(reviews)
    )
    return Transparency(
        submitted=values["submitted"],
        published=values["published"],
        waiting=values["waiting"],
        removed={"unpublished": values["unpublished"], "deleted": values["deleted"]},
        median_delay=medians,
    )


# --- Widget -------------------------------------------------------------------------------------


def widget_product(*, shop: Shop, product_id: str) -> tuple[Product | None, SealStatus | None]:
    product = (
        Product.objects.for_company(shop.company_id)
        .filter(shop=shop, product_id=product_id)
        .first()
    )
    if product is None:
        return None, None
    status = (
        SealStatus.objects.for_company(shop.company_id).filter(shop=shop, product=product).first()
    )
    return product, status


def widget_reviews(*, shop: Shop, product: Product | None = None) -> list[Review]:
    """A random handful of counted reviews with a comment; the browser shows one (R28).

    Only transaction-based reviews (R14); the stars play no part in the choice (R17).
    """
    reviews = counted_reviews(shop).exclude(comment="")
    if product is None:
        reviews = reviews.filter(kind=Review.Kind.MERCHANT)
    else:
        reviews = reviews.filter(kind=Review.Kind.PRODUCT, product=product)
    return list(
        reviews.order_by("?").only("rating", "comment", "display_name", "submitted_at")[
            :WIDGET_SAMPLE
        ]
    )
