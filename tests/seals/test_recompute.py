"""Averages and tiers from the database (R24-R26): the table of rule R25 run through the real
recompute, one shop at a time and as the nightly set-based sweep, plus history, idempotency,
query counts, tenant isolation and concurrent recomputes (TESTPLAN ID-5, TI-5(b))."""

from __future__ import annotations

import datetime
import random
import threading
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection, connections
from django.db.models import Avg, Count, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reviews.models import Review, ReviewVersion
from reviews.signals import review_changed
from seals import scoring
from seals.models import SealHistory, SealStatus
from seals.services import seal_recompute, seals_recompute_all, window_start
from tests import factories
from tests.dates import local_time as _at

TODAY = datetime.date(2026, 11, 22)


def _recent(index: int) -> datetime.datetime:
    """Spread inside the window, well clear of its edge."""
    return _at(TODAY - datetime.timedelta(days=1 + index % 300))


def _ratings(total: int, count: int) -> list[int]:
    """``count`` star ratings adding up to exactly ``total`` (as even as possible)."""
    base, extra = divmod(total, count)
    return [base + 1] * extra + [base] * (count - extra)


def _reviews(shop, ratings, *, when=_recent, **fields) -> list[Review]:
    fields = {
        "status": Review.Status.PUBLISHED,
        "is_transaction_based": True,
        "kind": Review.Kind.PRODUCT if fields.get("product") else Review.Kind.MERCHANT,
        **fields,
    }
    rows = [
        Review(
            company_id=shop.company_id,
            shop=shop,
            rating=rating,
            submitted_at=when(index),
            published_at=when(index),
            **fields,
        )
        for index, rating in enumerate(ratings)
    ]
    return Review.objects.for_company(shop.company_id).bulk_create(rows)


@dataclass(frozen=True)
class Case:
    ratings: list[int]  # published transaction-based reviews inside the window
    count: int
    total: int
    tier: str
    shown: str
    extra: list[str] = field(default_factory=list)  # what else the shop has (see _add_extra)


EXACTLY_48 = _ratings(240, 50)  # 4.80: gold at its boundary

# Rule R25 and the average of R24, one row per boundary the issue names.
CASES = {
    "49 reviews: standard whatever the stars": Case([5] * 49, 49, 245, "standard", "5.0"),
    "50 reviews of five stars: gold": Case([5] * 50, 50, 250, "gold", "5.0"),
    "just below 4.0 (3.98)": Case(_ratings(199, 50), 50, 199, "standard", "3.9"),
    "exactly 4.0": Case(_ratings(200, 50), 50, 200, "bronze", "4.0"),
    "just below 4.4 (4.38)": Case(_ratings(219, 50), 50, 219, "bronze", "4.3"),
    "exactly 4.4": Case(_ratings(220, 50), 50, 220, "silver", "4.4"),
    "just below 4.8 (4.78)": Case(_ratings(239, 50), 50, 239, "silver", "4.7"),
    "exactly 4.8": Case(EXACTLY_48, 50, 240, "gold", "4.8"),
    "just below 4.8 by one in a thousand (4.799)": Case(
        _ratings(4799, 1000), 1000, 4799, "silver", "4.7"
    ),
    # A 1-star review 12 months minus a day old counts: 241/51 = 4.73 loses gold.
    "12 months minus a day: counts": Case(EXACTLY_48, 51, 241, "silver", "4.7", ["edge_in"]),
    "12 months plus a day: does not count": Case(EXACTLY_48, 50, 240, "gold", "4.8", ["edge_out"]),
    "non-transaction 1 star: ignored": Case(EXACTLY_48, 50, 240, "gold", "4.8", ["untransacted"]),
    "deleted 1 star: ignored": Case(EXACTLY_48, 50, 240, "gold", "4.8", ["deleted"]),
    "held and unpublished: ignored": Case(EXACTLY_48, 50, 240, "gold", "4.8", ["held"]),
    "*** keeps its stars": Case(EXACTLY_48, 51, 245, "gold", "4.8", ["starred"]),
    # An edited review (5 then 1 star) counts once, with its latest rating: 240 + 1 over 51.
    "edited review: once, latest rating": Case(EXACTLY_48, 51, 241, "silver", "4.7", ["edited"]),
    "product reviews do not count for the shop": Case(
        EXACTLY_48, 50, 240, "gold", "4.8", ["product"]
    ),
}


def _add_extra(shop, extra: list[str]) -> None:
    start = window_start(TODAY).date()
    one = {
        "edge_in": dict(when=lambda _i: _at(start + datetime.timedelta(days=1))),
        "edge_out": dict(when=lambda _i: _at(start - datetime.timedelta(days=1))),
        "untransacted": dict(is_transaction_based=False),
        "deleted": dict(status=Review.Status.DELETED),
    }
    for name in extra:
        if name in one:
            _reviews(shop, [1], **one[name])
        elif name == "held":
            _reviews(shop, [1], status=Review.Status.HELD)
            _reviews(shop, [1], status=Review.Status.UNPUBLISHED)
        elif name == "starred":
            _reviews(shop, [5], comment="The *** at the counter was rude, parcel perfect.")
        elif name == "edited":
            (review,) = _reviews(shop, [1], version=2)
            for version, rating in ((1, 5), (2, 1)):
                ReviewVersion.objects.for_company(shop.company_id).create(
                    company_id=shop.company_id,
                    shop=shop,
                    review=review,
                    version=version,
                    rating=rating,
                )
        elif name == "product":
            factories.ReviewFactory(
                shop=shop,
                kind=Review.Kind.PRODUCT,
                product=factories.ProductFactory(shop=shop),
                rating=1,
                submitted_at=_recent(3),
            )


@pytest.mark.django_db
@pytest.mark.parametrize("sweep", [False, True], ids=["one shop", "nightly sweep"])
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_it_gives_each_shop_the_average_and_tier_of_rule_r25(shop, other_shop, case, sweep):
    """R24, R25 through the database: integer tiers, one decimal rounded down."""
    _reviews(shop, case.ratings)
    _add_extra(shop, case.extra)
    _reviews(other_shop, [1] * 60)  # an outsider with plenty of bad reviews changes nothing
    if sweep:
        seals_recompute_all(today=TODAY)
    else:
        seal_recompute(shop_id=shop.pk, today=TODAY)
    status = SealStatus.objects.for_company(shop.company).get(shop=shop, product__isnull=True)
    assert (status.review_count, status.rating_sum, status.tier) == (
        case.count,
        case.total,
        case.tier,
    )
    assert status.average == Decimal(case.shown)
    assert status.status_as_of == TODAY


@pytest.mark.django_db
def test_it_matches_sql_avg_over_published_reviews_in_the_window(shop):
    """ID-5: the stored numbers are exactly COUNT/SUM/AVG over the counted reviews."""
    _reviews(shop, [5, 4, 3, 5, 2, 1, 5])
    _reviews(shop, [1, 1], status=Review.Status.HELD)
    _reviews(shop, [1], when=lambda _i: _at(TODAY - relativedelta(months=13)))
    status = seal_recompute(shop_id=shop.pk, today=TODAY)
    expected = (
        Review.objects.for_company(shop.company)
        .filter(
            shop=shop,
            status="published",
            is_transaction_based=True,
            kind="merchant",
            submitted_at__gte=window_start(TODAY),
        )
        .aggregate(n=Count("id"), s=Sum("rating"), avg=Avg("rating"))
    )
    assert (status.review_count, status.rating_sum) == (expected["n"], expected["s"])
    assert status.average == Decimal(int(expected["avg"] * 10)) / 10


@pytest.mark.django_db
def test_it_computes_each_product_average_separately(shop, other_shop):
    """R13: a product's average counts that product's reviews only."""
    boots, tent = factories.ProductFactory(shop=shop), factories.ProductFactory(shop=shop)
    for product, ratings in ((boots, [5, 4, 4]), (tent, [2])):
        for rating in ratings:
            factories.ReviewFactory(
                shop=shop, kind=Review.Kind.PRODUCT, product=product, rating=rating
            )
    factories.ReviewFactory(
        shop=shop,
        kind=Review.Kind.PRODUCT,
        product=tent,
        rating=5,
        is_transaction_based=False,
        invitation=None,
    )
    seals_recompute_all(today=timezone.localdate())
    rows = SealStatus.objects.for_company(shop.company).filter(product__isnull=False)
    by_product = {
        row.product_id: (row.review_count, row.rating_sum, str(row.average)) for row in rows
    }
    assert by_product == {boots.pk: (3, 13, "4.3"), tent.pk: (1, 2, "2.0")}


@pytest.mark.django_db
def test_it_keeps_history_only_when_the_status_changes_with_its_date(shop):
    """R26: each change is kept with its date; a re-run changes nothing, not even history."""
    _reviews(shop, EXACTLY_48)
    seals_recompute_all(today=TODAY)
    assert seals_recompute_all(today=TODAY) == 0  # running twice changes nothing
    seal_recompute(shop_id=shop.pk, today=TODAY)
    tomorrow = TODAY + datetime.timedelta(days=1)
    seals_recompute_all(today=tomorrow)  # same numbers: only "Status as of" moves
    _reviews(shop, [1])
    seal_recompute(shop_id=shop.pk, today=tomorrow)
    history = SealHistory.objects.for_company(shop.company).filter(product__isnull=True)
    assert list(
        history.order_by("id").values_list("status_as_of", "review_count", "rating_sum", "tier")
    ) == [(TODAY, 50, 240, "gold"), (tomorrow, 51, 241, "silver")]
    status = SealStatus.objects.for_company(shop.company).get(shop=shop, product__isnull=True)
    assert status.status_as_of == tomorrow


@pytest.mark.django_db
def test_it_lets_reviews_age_out_of_the_window_overnight(shop):
    """R26: the nightly sweep drops a review the day it is older than 12 months."""
    _reviews(shop, EXACTLY_48)
    _reviews(shop, [1], when=lambda _i: _at(TODAY - relativedelta(months=12)))
    seals_recompute_all(today=TODAY)
    status = SealStatus.objects.for_company(shop.company).get(shop=shop, product__isnull=True)
    assert (status.review_count, status.tier) == (51, "silver")
    seals_recompute_all(today=TODAY + datetime.timedelta(days=1))
    status.refresh_from_db()
    assert (status.review_count, status.tier) == (50, "gold")


def _statuses_and_history(shop) -> tuple[set, list]:
    """(product, count, sum, tier, as of) of every status of a shop, and the same of its history."""
    fields = ("product_id", "review_count", "rating_sum", "tier", "status_as_of")
    statuses = SealStatus.objects.for_company(shop.company).filter(shop=shop)
    history = SealHistory.objects.for_company(shop.company).filter(shop=shop).order_by("id")
    return set(statuses.values_list(*fields)), list(history.values_list(*fields))


@pytest.mark.django_db
@pytest.mark.parametrize("sweep", [False, True], ids=["one shop", "nightly sweep"])
def test_it_creates_each_status_with_its_final_numbers_and_their_history(shop, sweep):
    """R26: a shop or product seen for the first time gets its status and one history row, both
    with the numbers of its reviews (never a zero row first): history holds what the status got."""
    boots = factories.ProductFactory(shop=shop)
    _reviews(shop, EXACTLY_48)
    _reviews(shop, [4, 3], product=boots)
    if sweep:
        seals_recompute_all(today=TODAY)
    else:
        seal_recompute(shop_id=shop.pk, today=TODAY)
    statuses, history = _statuses_and_history(shop)
    assert statuses == {(None, 50, 240, "gold", TODAY), (boots.pk, 2, 7, "standard", TODAY)}
    assert sorted(history, key=str) == sorted(statuses, key=str)


@pytest.mark.django_db
def test_it_zeroes_a_product_whose_reviews_all_left_the_window(shop):
    """R24, R26: a product's status drops to no reviews the night its last one ages out, and the
    history records that change."""
    boots = factories.ProductFactory(shop=shop)
    _reviews(shop, [2], product=boots, when=lambda _i: _at(TODAY - relativedelta(months=12)))
    seals_recompute_all(today=TODAY)
    tomorrow = TODAY + datetime.timedelta(days=1)
    seals_recompute_all(today=tomorrow)
    statuses, history = _statuses_and_history(shop)
    assert (boots.pk, 0, 0, "standard", tomorrow) in statuses
    assert [row for row in history if row[0] == boots.pk] == [
        (boots.pk, 1, 2, "standard", TODAY),
        (boots.pk, 0, 0, "standard", tomorrow),
    ]


@pytest.mark.django_db
def test_it_counts_the_statuses_it_created_changed_or_re_dated(shop, other_shop):
    """R26: the nightly job reports what it wrote: every new status on the first night, nothing
    on a second run the same day, every status the next day ("Status as of" moves)."""
    boots = factories.ProductFactory(shop=shop)
    _reviews(shop, [5, 4])
    _reviews(shop, [3], product=boots)
    assert seals_recompute_all(today=TODAY) == 3  # two merchant statuses, one product status
    assert seals_recompute_all(today=TODAY) == 0
    tomorrow = TODAY + datetime.timedelta(days=1)
    assert seals_recompute_all(today=tomorrow) == 3
    _reviews(other_shop, [1])
    assert seals_recompute_all(today=tomorrow) == 1
    assert seal_recompute(shop_id=other_shop.pk, today=tomorrow).review_count == 1


def _same_random_reviews(shops, seed: int) -> dict[int, list]:
    """The same random merchant and product reviews (ratings, days, statuses) in each shop;
    answers each shop's three products, in the same order."""
    rng = random.Random(seed)
    products = {shop.pk: [factories.ProductFactory(shop=shop) for _ in range(3)] for shop in shops}
    for _ in range(rng.randint(0, 150)):
        submitted = _at(TODAY - datetime.timedelta(days=rng.randint(0, 380)))
        rating, which = rng.randint(1, 5), rng.randint(-1, 2)  # -1: a merchant review
        status = rng.choice(["published"] * 5 + ["held", "deleted"])
        for shop in shops:
            fields = {"product": products[shop.pk][which] if which >= 0 else None}
            _reviews(shop, [rating], status=status, when=lambda _i, at=submitted: at, **fields)
    return products


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(4))
def test_it_stores_the_same_for_one_shop_as_the_nightly_sweep(seed):
    """ID-5: the same random reviews in two shops, one recomputed alone and one by the nightly
    sweep, over three nights: the same statuses and the same history, night by night."""
    alone, swept = factories.ShopFactory(), factories.ShopFactory()
    products = _same_random_reviews([alone, swept], seed)

    def by_position(shop, rows):
        position = {product.pk: index for index, product in enumerate(products[shop.pk])}
        return sorted(((position.get(row[0], -1), *row[1:]) for row in rows), key=str)

    for night in range(3):
        today = TODAY + datetime.timedelta(days=20 * night)
        seal_recompute(shop_id=alone.pk, today=today)
        seals_recompute_all(today=today)  # leaves the shop recomputed today as it is
        alone_statuses, alone_history = _statuses_and_history(alone)
        swept_statuses, swept_history = _statuses_and_history(swept)
        assert by_position(alone, alone_statuses) == by_position(swept, swept_statuses)
        assert by_position(alone, alone_history) == by_position(swept, swept_history)


def _shops_with_reviews(count: int) -> None:
    for _ in range(count):
        shop = factories.ShopFactory()
        product = factories.ProductFactory(shop=shop)
        _reviews(shop, [5, 4])
        factories.ReviewFactory(shop=shop, kind=Review.Kind.PRODUCT, product=product)


@pytest.mark.django_db
def test_it_sweeps_every_shop_in_a_fixed_number_of_queries():
    """R26: no per-shop loop in the nightly sweep: 2 shops or 12 cost the same statements."""
    _shops_with_reviews(2)
    with CaptureQueriesContext(connection) as few:
        seals_recompute_all(today=TODAY)
    _shops_with_reviews(10)
    with CaptureQueriesContext(connection) as many:
        seals_recompute_all(today=TODAY + datetime.timedelta(days=1))
    # savepoint, advisory lock, the grouped aggregate into a temporary table, the one statement
    # (update, insert the missing rows, history of the changed and created ones), drop the
    # temporary table, release savepoint.
    assert len(few) == len(many) == 6
    assert SealStatus.objects.unscoped().filter(product__isnull=True).count() == 12
    assert SealStatus.objects.unscoped().filter(product__isnull=False).count() == 12


@pytest.mark.django_db
def test_it_recomputes_one_shop_in_a_fixed_number_of_queries(shop):
    """R26: a review's recompute costs the same statements for one product or six."""
    _reviews(shop, [5, 4], product=factories.ProductFactory(shop=shop))
    with CaptureQueriesContext(connection) as few:
        seal_recompute(shop_id=shop.pk, today=TODAY)
    for _ in range(5):
        _reviews(shop, [3], product=factories.ProductFactory(shop=shop))
    with CaptureQueriesContext(connection) as many:
        seal_recompute(shop_id=shop.pk, today=TODAY)
    # savepoint, advisory locks, the one statement (aggregate, update, insert the missing rows,
    # history), release savepoint, then the merchant status read back for the caller.
    assert len(few) == len(many) == 5
    assert SealStatus.objects.for_company(shop.company).filter(shop=shop).count() == 7


@pytest.mark.django_db
def test_it_recomputes_one_shop_without_touching_another_company(shop, other_shop):
    """TI-5(b): the recompute of A changes no row of B."""
    _reviews(other_shop, [1, 2])
    seal_recompute(shop_id=other_shop.pk, today=TODAY)
    before = list(SealStatus.objects.for_company(other_shop.company).values())
    history_before = SealHistory.objects.for_company(other_shop.company).count()
    _reviews(shop, [5])
    seal_recompute(shop_id=shop.pk, today=TODAY + datetime.timedelta(days=1))
    assert list(SealStatus.objects.for_company(other_shop.company).values()) == before
    assert SealHistory.objects.for_company(other_shop.company).count() == history_before


@pytest.mark.django_db
def test_it_recomputes_when_reviews_tell_it_something_changed(shop, other_shop, eager_tasks):
    """R26: the review_changed signal (sent after commit) queues the recompute of the shop and
    its products (run here eagerly; tests/seals/test_receivers.py shows it is queued)."""
    product = factories.ProductFactory(shop=shop)
    factories.ReviewFactory(shop=shop, rating=4)
    factories.ReviewFactory(shop=shop, kind=Review.Kind.PRODUCT, product=product, rating=2)
    review_changed.send(
        sender=Review, company_id=shop.company_id, shop_id=shop.pk, product_ids={product.pk}
    )
    rows = SealStatus.objects.for_company(shop.company).filter(shop=shop)
    assert {(row.product_id, row.review_count, row.rating_sum) for row in rows} == {
        (None, 1, 4),
        (product.pk, 1, 2),
    }
    assert not SealStatus.objects.for_company(other_shop.company).exists()


@pytest.mark.django_db(transaction=True)
def test_it_loses_no_update_when_reviews_and_recomputes_race(shop):
    """ID-5: 50 reviews committed from 5 threads, each followed by its shop's recompute, while
    the nightly sweep runs too: the stored numbers equal the reviews, and a second run agrees."""
    errors: list[BaseException] = []

    def submit(ratings: list[int]) -> None:
        try:
            for rating in ratings:
                _reviews(shop, [rating])
                seal_recompute(shop_id=shop.pk, today=TODAY)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def sweep() -> None:
        try:
            for _ in range(5):
                seals_recompute_all(today=TODAY)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    batches = [[1 + (i + j) % 5 for j in range(10)] for i in range(5)]
    threads = [threading.Thread(target=submit, args=(batch,)) for batch in batches]
    threads.append(threading.Thread(target=sweep))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    status = SealStatus.objects.for_company(shop.company).get(shop=shop, product__isnull=True)
    assert (status.review_count, status.rating_sum) == (50, sum(map(sum, batches)))
    assert seals_recompute_all(today=TODAY) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(8))
def test_it_agrees_with_the_rules_on_random_reviews(seed):
    """ID-5 as a property over random ratings, statuses, kinds and dates (seeded, repeatable):
    the stored numbers are those of the reviews rule R24 counts, the tier that of R25."""
    rng = random.Random(seed)
    shop = factories.ShopFactory()
    start = window_start(TODAY)
    rows = []
    for _ in range(rng.randint(0, 120)):
        submitted = _at(TODAY - datetime.timedelta(days=rng.randint(0, 420)))
        rows.append(
            Review(
                company_id=shop.company_id,
                shop=shop,
                kind=Review.Kind.MERCHANT,
                rating=rng.choice([5, 5, 5, 4, 4, 3, 2, 1]),
                status=rng.choice(["published"] * 6 + ["held", "deleted", "unpublished"]),
                is_transaction_based=rng.random() > 0.1,
                submitted_at=submitted,
                published_at=submitted,
            )
        )
    Review.objects.for_company(shop.company).bulk_create(rows)
    counted = [
        row.rating
        for row in rows
        if row.status == "published" and row.is_transaction_based and row.submitted_at >= start
    ]
    seals_recompute_all(today=TODAY)
    status = SealStatus.objects.for_company(shop.company).get(shop=shop, product__isnull=True)
    assert (status.review_count, status.rating_sum) == (len(counted), sum(counted))
    assert status.tier == scoring.tier_for(count=len(counted), total=sum(counted))
    if counted:
        assert status.average == Decimal(10 * sum(counted) // len(counted)) / 10
        assert status.average <= Decimal(sum(counted)) / len(counted)
