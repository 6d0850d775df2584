"""The set-based recompute of averages and tiers (R24-R26), for one shop or for every shop.

Four SQL statements do the whole job whatever the number of shops and products, so the nightly
sweep costs the same few queries for ten shops or ten thousand (no per-shop loop):

1. insert a zero merchant status for every shop that has none yet;
2. insert a zero product status for every product with reviews in the window that has none;
3. one UPDATE from one grouped aggregate over the window: count, sum and tier of every status
   row; ``updated_at`` moves to this run's instant only where (count, sum, tier) changed;
4. copy the rows stamped with this run's instant into the history.

Step 4 reads the rows step 3 wrote (our own writes, row-locked until commit), so history always
holds exactly the values the status got, even when a review commits between the statements.
The SQL is portable (Postgres and the embedded SQLite) and is built only from constants and
model metadata; every value travels as a parameter.

Tiers compare integers in SQL exactly as :func:`seals.scoring.tier_for` does in Python; the
CASE expression is generated from the same table of thresholds.
"""

from __future__ import annotations

import datetime

from django.db import connection, transaction
from django.utils import timezone

from companies.models import Shop
from reviews.models import Review
from seals import scoring
from seals.models import SealHistory, SealStatus

# Advisory lock keys (Postgres): the nightly sweep takes the global key exclusively, a one-shop
# recompute takes it shared plus its shop's own key, so two recomputes of one shop never
# interleave and the sweep never interleaves with either (TESTPLAN ID-5).
_LOCK_ALL = 0x5EA1_0000_0000
_LOCK_SHOP_BASE = 0x5EA1_0000_0001

_STATUS = SealStatus._meta.db_table
_HISTORY = SealHistory._meta.db_table
_REVIEW = Review._meta.db_table
_SHOP = Shop._meta.db_table
_COLUMNS = (
    "company_id, shop_id, review_count, rating_sum, tier, status_as_of, created_at, updated_at"
)


def tier_case(count: str, total: str) -> str:
    """SQL for :func:`scoring.tier_for` over two integer expressions (constants only)."""
    whens = " ".join(
        f"WHEN 10 * ({total}) >= {tenths} * ({count}) THEN '{tier}'"
        for tier, tenths in scoring.THRESHOLDS
    )
    return (
        f"CASE WHEN ({count}) < {scoring.MIN_REVIEWS_FOR_TIER} THEN '{scoring.STANDARD}' "
        f"{whens} ELSE '{scoring.STANDARD}' END"
    )


def _window_aggregate(shop_id: int | None, since) -> tuple[str, list]:
    """Count and sum per (shop, product) of published transaction-based reviews (R24).

    Merchant reviews have no product (a check constraint), so ``product_id IS NULL`` is the
    shop's own average and every other group is one product's (R13).
    """
    sql = (
        f"SELECT company_id, shop_id, product_id, COUNT(*) AS n, SUM(rating) AS s FROM {_REVIEW} "  # noqa: S608 (table names are constants)  # nosec B608
        "WHERE status = %s AND is_transaction_based = %s AND submitted_at >= %s"
    )
    params: list = [Review.Status.PUBLISHED, True, since]
    if shop_id is not None:
        sql += " AND shop_id = %s"
        params.append(shop_id)
    return sql + " GROUP BY company_id, shop_id, product_id", params


def _scope(alias: str, shop_id: int | None, *, column: str = "shop_id") -> tuple[str, list]:
    if shop_id is None:
        return "", []
    return f" AND {alias}.{column} = %s", [shop_id]


def _statements(*, shop_id: int | None, since, today, now) -> list[tuple[str, list]]:
    ops = connection.ops
    since = ops.adapt_datetimefield_value(since)
    today = ops.adapt_datefield_value(today)
    now = ops.adapt_datetimefield_value(now)
    aggregate, aggregate_params = _window_aggregate(shop_id, since)
    fresh = [scoring.STANDARD, today, now, now]
    shop_scope, shop_params = _scope("sh", shop_id, column="id")
    status_scope, status_params = _scope("st", shop_id)
    changed = (
        f"{_STATUS}.review_count <> c.n OR {_STATUS}.rating_sum <> c.s OR {_STATUS}.tier <> c.tier"
    )
    n, s = "COALESCE(a.n, 0)", "COALESCE(a.s, 0)"
    return [
        (  # 1. every shop has a merchant status
            f"INSERT INTO {_STATUS} ({_COLUMNS}) "  # noqa: S608 (table names are constants)  # nosec B608
            f"SELECT sh.company_id, sh.id, 0, 0, %s, %s, %s, %s FROM {_SHOP} sh "
            f"WHERE NOT EXISTS (SELECT 1 FROM {_STATUS} st "
            f"WHERE st.shop_id = sh.id AND st.product_id IS NULL){shop_scope}",
            [*fresh, *shop_params],
        ),
        (  # 2. every product with reviews in the window has a product status
            f"INSERT INTO {_STATUS} ({_COLUMNS}, product_id) "  # noqa: S608 (table names are constants)  # nosec B608
            f"SELECT a.company_id, a.shop_id, 0, 0, %s, %s, %s, %s, a.product_id "
            f"FROM ({aggregate}) a WHERE a.product_id IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {_STATUS} st "
            f"WHERE st.shop_id = a.shop_id AND st.product_id = a.product_id)",
            [*fresh, *aggregate_params],
        ),
        (  # 3. every status from one grouped aggregate; a changed one gets this run's instant
            f"UPDATE {_STATUS} SET review_count = c.n, rating_sum = c.s, tier = c.tier, "  # noqa: S608 (table names are constants)  # nosec B608
            f"status_as_of = %s, updated_at = CASE WHEN {changed} THEN %s "
            f"ELSE {_STATUS}.updated_at END "
            f"FROM (SELECT st.id AS id, {n} AS n, {s} AS s, {tier_case(n, s)} AS tier "
            f"FROM {_STATUS} st LEFT JOIN ({aggregate}) a ON a.shop_id = st.shop_id "
            f"AND COALESCE(a.product_id, 0) = COALESCE(st.product_id, 0) "
            f"WHERE 1 = 1{status_scope}) c "
            f"WHERE {_STATUS}.id = c.id AND ({changed} OR {_STATUS}.status_as_of <> %s)",
            [today, now, *aggregate_params, *status_params, today],
        ),
        (  # 4. history: exactly the rows this run changed or created
            f"INSERT INTO {_HISTORY} ({_COLUMNS}, product_id) "  # noqa: S608 (table names are constants)  # nosec B608
            f"SELECT st.company_id, st.shop_id, st.review_count, st.rating_sum, st.tier, "
            f"st.status_as_of, %s, %s, st.product_id FROM {_STATUS} st "
            f"WHERE st.updated_at = %s{status_scope}",
            [now, now, now, *status_params],
        ),
    ]


def _lock(cursor, shop_id: int | None) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite (the embedded default) serializes every write transaction anyway
    if shop_id is None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_ALL])
    else:
        cursor.execute(
            "SELECT pg_advisory_xact_lock_shared(%s), pg_advisory_xact_lock(%s)",
            [_LOCK_ALL, _LOCK_SHOP_BASE + shop_id],
        )


def recompute(*, shop_id: int | None, since: datetime.datetime, today: datetime.date) -> int:
    """Run the four statements for one shop (or all with ``None``); returns rows updated.

    The caller's transaction (``atomic`` here) holds the lock until commit; the aggregate runs
    after the lock is taken, so a recompute always starts from the latest committed reviews and
    a slower, older recompute can never overwrite a newer one (no lost update).
    """
    # Deliberately cross-tenant when shop_id is None: the nightly sweep covers every company.
    now = timezone.now()
    updated = 0
    with transaction.atomic(), connection.cursor() as cursor:
        _lock(cursor, shop_id)
        for number, (sql, params) in enumerate(
            _statements(shop_id=shop_id, since=since, today=today, now=now), start=1
        ):
            cursor.execute(sql, params)
            if number == 3:
                updated = cursor.rowcount
    return updated
