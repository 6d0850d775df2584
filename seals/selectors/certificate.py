"""The certificate page's reads: the review list, the distribution and the transparency numbers
(R14, R17, R24, R27). Every statement names the shop's company."""

from __future__ import annotations

import datetime
import statistics
import uuid
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from companies.models import Shop
from reviews.models import Rating, Review, ReviewMedia
from seals.selectors.statements import (
    COMMENT,
    MEDIA,
    PRODUCT,
    REVIEW,
    columns,
    fetch,
    placeholders,
    select,
)
from seals.services import window_start

REVIEWS_PER_PAGE = 10
# Equal treatment (R17): time to publication is reported per band of stars.
RATING_BANDS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("1-2", (1, 2)),
    ("3", (3,)),
    ("4-5", (4, 5)),
)


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


def shop_params(shop: Shop) -> dict:
    return {
        "company": shop.company_id,
        "shop": shop.pk,
        "published": Review.Status.PUBLISHED,
        "merchant": Review.Kind.MERCHANT,
        "product": Review.Kind.PRODUCT,
        "transaction_based": True,
    }


def _listed(filters: ReviewFilter) -> tuple[str, dict]:
    """The condition on ``r`` for the public list: published, the shop's or one product's.

    A product is named by the shop's own product id (a subquery, not a join: the aggregate
    beside it counts every review of the shop).
    """
    sql = "r.status = %(published)s"
    params = {}
    if filters.product_id:
        sql += (
            f" AND r.kind = %(product)s AND r.product_id IN (SELECT p.id FROM {PRODUCT} p "  # noqa: S608 (names from model metadata)  # nosec B608
            "WHERE p.company_id = %(company)s AND p.shop_id = %(shop)s "
            "AND p.product_id = %(product_id)s)"
        )
        params["product_id"] = filters.product_id
    else:
        sql += " AND r.kind = %(merchant)s"
    if filters.stars:
        sql += " AND r.rating = %(stars)s"
        params["stars"] = filters.stars
    if filters.with_comment:
        sql += " AND r.comment <> ''"
    return sql, params


@dataclass(frozen=True)
class PublicComment:
    status: str
    text: str


@dataclass(frozen=True)
class PublicProduct:
    name: str


@dataclass(frozen=True)
class PublicReview:
    """A published review as the public list shows it; private fields are never read (R16)."""

    pk: int
    public_id: uuid.UUID
    kind: str
    is_transaction_based: bool
    rating: int
    comment: str
    display_name: str
    version: int
    submitted_at: datetime.datetime
    product: PublicProduct | None
    company_comment: PublicComment | None  # the company's reply (R22), whatever its status
    photos: tuple[ReviewMedia, ...]  # published photos, oldest first

    def get_rating_display(self) -> str:
        return Rating(self.rating).label


_PAGE_COLUMNS = tuple(
    columns(
        "r",
        Review,
        ("id", "public_id", "kind", "is_transaction_based", "rating", "comment", "display_name"),
    )
    + columns("r", Review, ("version", "submitted_at"))
)
# The page is chosen first; only its rows then look up their product, reply and photos, each
# by its unique key, whatever the planner expects of the shop's number of reviews.
_LIST_SQL = (
    f"SELECT {select(_PAGE_COLUMNS)}, "  # noqa: S608 (names from model metadata)  # nosec B608
    f"(SELECT p.name FROM {PRODUCT} p WHERE p.id = r.product_id AND p.company_id = r.company_id), "
    f"(SELECT cc.status FROM {COMMENT} cc WHERE cc.review_id = r.id "
    "AND cc.company_id = r.company_id), "
    f"(SELECT cc.text FROM {COMMENT} cc WHERE cc.review_id = r.id "
    "AND cc.company_id = r.company_id), "
    f"EXISTS (SELECT 1 FROM {MEDIA} m WHERE m.review_id = r.id AND m.company_id = r.company_id "
    "AND m.status = %(photo_published)s AND m.kind = %(photo)s) "
    f"FROM (SELECT {select(_PAGE_COLUMNS)}, r.company_id, r.product_id FROM {REVIEW} r "
    "WHERE r.company_id = %(company)s AND r.shop_id = %(shop)s AND {listed} "
    "ORDER BY r.submitted_at DESC, r.id DESC LIMIT %(limit)s OFFSET %(offset)s) r "
    "ORDER BY r.submitted_at DESC, r.id DESC"
)
_PHOTO_COLUMNS = tuple(columns("m", ReviewMedia, ("id", "review_id", "file", "width", "height")))
_PHOTO_NAMES = [f.attname for _alias, f in _PHOTO_COLUMNS]
_PHOTOS_SQL = (
    f"SELECT {select(_PHOTO_COLUMNS)} FROM {MEDIA} m WHERE m.company_id = %s "  # noqa: S608 (names from model metadata)  # nosec B608
    "AND m.status = %s AND m.kind = %s AND m.review_id IN ({ids}) ORDER BY m.id"
)


def _photos(shop: Shop, review_ids: list[int]) -> dict[int, list[ReviewMedia]]:
    """Published photos of these reviews, by review; no query when none has one."""
    found: dict[int, list[ReviewMedia]] = {}
    if not review_ids:
        return found
    sql = _PHOTOS_SQL.format(ids=placeholders(review_ids))
    params = [
        shop.company_id,
        ReviewMedia.Status.PUBLISHED,
        ReviewMedia.Kind.PHOTO,
        *review_ids,
    ]
    for row in fetch(sql, params, _PHOTO_COLUMNS):
        photo = ReviewMedia.from_db(connection.alias, _PHOTO_NAMES, row)
        found.setdefault(photo.review_id, []).append(photo)
    return found


def _public_review(row: list, photos: dict[int, list[ReviewMedia]]) -> PublicReview:
    (pk, public_id, kind, transaction_based, rating, comment, name, version, submitted_at) = row[:9]
    product_name, reply_status, reply_text = row[9:12]
    return PublicReview(
        pk=pk,
        public_id=public_id,
        kind=kind,
        is_transaction_based=bool(transaction_based),
        rating=rating,
        comment=comment,
        display_name=name,
        version=version,
        submitted_at=submitted_at,
        product=PublicProduct(product_name) if product_name is not None else None,
        company_comment=PublicComment(reply_status, reply_text) if reply_status else None,
        photos=tuple(photos.get(pk, ())),
    )


def review_list_published(
    *, shop: Shop, filters: ReviewFilter, offset: int, limit: int
) -> list[PublicReview]:
    """Published reviews newest first, with product name, company reply and published photos:
    one query for the rows, one more only if one of them has a photo."""
    listed, listed_params = _listed(filters)
    params = {
        **shop_params(shop),
        **listed_params,
        "photo_published": ReviewMedia.Status.PUBLISHED,
        "photo": ReviewMedia.Kind.PHOTO,
        "limit": limit,
        "offset": offset,
    }
    rows = fetch(_LIST_SQL.replace("{listed}", listed), params, _PAGE_COLUMNS)
    photos = _photos(shop, [row[0] for row in rows if row[-1]])
    return [_public_review(row, photos) for row in rows]


class _PublishedList:
    """The public list as the paginator sees it: a known length, one query per slice."""

    def __init__(self, *, shop: Shop, filters: ReviewFilter, length: int):
        self.shop, self.filters, self.length = shop, filters, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: slice) -> list[PublicReview]:
        if not isinstance(index, slice):
            raise TypeError("the public list is read a page at a time")
        start, stop, _step = index.indices(self.length)
        if stop <= start:
            return []
        return review_list_published(
            shop=self.shop, filters=self.filters, offset=start, limit=stop - start
        )


def review_page(*, shop: Shop, filters: ReviewFilter, number, count: int) -> Page:
    """One page of the list; ``count`` (all pages) comes from :func:`review_numbers`."""
    published = _PublishedList(shop=shop, filters=filters, length=count)
    return Paginator(published, REVIEWS_PER_PAGE).get_page(number)


# --- Distribution and transparency (Omnibus directive, R17, R27) --------------------------------


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


@dataclass(frozen=True)
class ReviewNumbers:
    listed: int  # reviews in the public list with the visitor's filters, all pages
    distribution: list[tuple[int, int]]  # (stars, count) from 5 down to 1 (R27)
    transparency: Transparency


_WINDOW = "r.submitted_at >= %(since)s"
COUNTED = (
    f"r.status = %(published)s AND r.is_transaction_based = %(transaction_based)s AND {_WINDOW}"
)
_NUMBERS = (
    # The reviews behind the merchant average (R24), by stars.
    *(
        f"COUNT(*) FILTER (WHERE {COUNTED} AND r.kind = %(merchant)s AND r.rating = {stars})"
        for stars in range(5, 0, -1)
    ),
    # What happened to the reviews submitted in the last 12 months.
    f"COUNT(*) FILTER (WHERE {_WINDOW})",
    f"COUNT(*) FILTER (WHERE {_WINDOW} AND r.status = %(published)s)",
    f"COUNT(*) FILTER (WHERE {_WINDOW} AND r.status IN (%(pending)s, %(held)s))",
    f"COUNT(*) FILTER (WHERE {_WINDOW} AND r.status = %(unpublished)s)",
    f"COUNT(*) FILTER (WHERE {_WINDOW} AND r.status = %(deleted)s)",
)
_MEDIANS = tuple(
    "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY r.published_at - r.submitted_at) "
    f"FILTER (WHERE {_WINDOW} AND r.status = %(published)s AND r.published_at IS NOT NULL "
    f"AND r.rating IN ({', '.join(str(s) for s in stars)}))"
    for _band, stars in RATING_BANDS
)


def _numbers_sql(listed: str, *, medians: bool) -> str:
    parts = [f"COUNT(*) FILTER (WHERE {listed})", *_NUMBERS, *(_MEDIANS if medians else ())]
    return (
        f"SELECT {', '.join(parts)} FROM {REVIEW} r "  # noqa: S608 (names from model metadata)  # nosec B608
        "WHERE r.company_id = %(company)s AND r.shop_id = %(shop)s"
    )


def _reviews(shop: Shop) -> QuerySet[Review]:
    return Review.objects.for_company(shop.company_id).filter(shop=shop)


def _medians_in_python(reviews: QuerySet[Review]) -> dict[str, datetime.timedelta | None]:
    delays: dict[str, list[datetime.timedelta]] = {band: [] for band, _ in RATING_BANDS}
    rows = reviews.filter(status=Review.Status.PUBLISHED, published_at__isnull=False)
    for rating, submitted_at, published_at in rows.values_list(
        "rating", "submitted_at", "published_at"
    ):
        band = next(name for name, stars in RATING_BANDS if rating in stars)
        delays[band].append(max(published_at - submitted_at, datetime.timedelta(0)))
    return {band: statistics.median(values) if values else None for band, values in delays.items()}


def review_numbers(*, shop: Shop, filters: ReviewFilter) -> ReviewNumbers:
    """The list's length, the star distribution and the transparency numbers in one query.

    One pass over the shop's reviews instead of three. Postgres computes the medians in the same
    statement; other databases read the delays once more and take them in Python.
    """
    since = window_start(timezone.localdate())
    in_sql = connection.vendor == "postgresql"
    listed, listed_params = _listed(filters)
    params = {
        **shop_params(shop),
        **listed_params,
        "since": connection.ops.adapt_datetimefield_value(since),
        "pending": Review.Status.PENDING,
        "held": Review.Status.HELD,
        "unpublished": Review.Status.UNPUBLISHED,
        "deleted": Review.Status.DELETED,
    }
    with connection.cursor() as cursor:
        cursor.execute(_numbers_sql(listed, medians=in_sql), params)
        row = cursor.fetchone()
    count, distribution, window, delays = row[0], row[1:6], row[6:11], row[11:]
    if in_sql:
        medians = {band: delay for (band, _stars), delay in zip(RATING_BANDS, delays, strict=True)}
    else:
        medians = _medians_in_python(_reviews(shop).filter(submitted_at__gte=since))
    submitted, published, waiting, unpublished, deleted = window
    return ReviewNumbers(
        listed=count,
        distribution=list(zip(range(5, 0, -1), distribution, strict=True)),
        transparency=Transparency(
            submitted=submitted,
            published=published,
            waiting=waiting,
            removed={"unpublished": unpublished, "deleted": deleted},
            median_delay=medians,
        ),
    )
