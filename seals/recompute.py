"""The set-based recompute of averages and tiers (R24-R26), for one shop or for every shop.

A fixed number of SQL statements does the whole job whatever the number of shops and products,
so the nightly sweep costs the same few queries for ten shops or ten thousand (no per-shop loop).
The grouped aggregate over the window (count and sum per shop and product, R24) is the costly
part; it runs once per recompute.

On Postgres one statement with data-modifying CTEs writes everything from one snapshot:

- ``w``: the aggregate over the window. For one shop it is inline (the shop's index finds its
  reviews). For the sweep it is read from a temporary table filled just before by
  ``CREATE TABLE AS``: Postgres may scan every review of the window in parallel there, never in
  a statement that writes;
- ``u``: every existing status gets its count, sum and tier; ``status_as_of`` moves to today;
  ``updated_at`` moves to this run's instant only where (count, sum, tier) changed; a row that
  is already right and dated today is not written at all;
- ``i``: the missing statuses (every shop's merchant status, every product with reviews in the
  window) are inserted with their final values;
- ``h``: the history gets the rows ``u`` changed and ``i`` created, from their ``RETURNING``, so
  it holds exactly the values the status got.

The embedded SQLite has no data-modifying CTEs; it runs the same steps as four portable
statements (insert missing rows, update from the aggregate, copy the rows stamped with this
run's instant into history). Both are built only from constants and model metadata; every value
travels as a parameter.

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
# The sweep's aggregate, read by the one statement that follows it and dropped right after.
_WINDOW = "seal_recompute_window"
_N, _S = "COALESCE(a.n, 0)", "COALESCE(a.s, 0)"
# (count, sum, tier) of the status row differ from the computed row ``c``.
_CHANGED = (
    f"{_STATUS}.review_count <> c.n OR {_STATUS}.rating_sum <> c.s OR {_STATUS}.tier <> c.tier"
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


def _only_shop(shop_id: int | None, clause: str) -> str:
    """``clause`` (naming ``%(shop_id)s``) for a one-shop recompute, nothing for the sweep."""
    return clause if shop_id is not None else ""


def _window_aggregate(shop_id: int | None) -> str:
    """Count and sum per (shop, product) of published transaction-based reviews (R24).

    Merchant reviews have no product (a check constraint), so ``product_id IS NULL`` is the
    shop's own average and every other group is one product's (R13).
    """
    return (
        f"SELECT shop_id, product_id, COUNT(*) AS n, SUM(rating) AS s FROM {_REVIEW} "  # noqa: S608 (table names are constants)  # nosec B608
        "WHERE status = %(published)s AND is_transaction_based = %(transaction_based)s "
        "AND submitted_at >= %(since)s"
        f"{_only_shop(shop_id, ' AND shop_id = %(shop_id)s')} GROUP BY shop_id, product_id"
    )


def _computed(shop_id: int | None, window: str) -> str:
    """Every existing status with the count, sum and tier the aggregate ``window`` gives it."""
    return (
        f"SELECT st.id AS id, {_N} AS n, {_S} AS s, {tier_case(_N, _S)} AS tier "  # noqa: S608 (table names are constants)  # nosec B608
        f"FROM {_STATUS} st LEFT JOIN {window} a ON a.shop_id = st.shop_id "
        "AND COALESCE(a.product_id, 0) = COALESCE(st.product_id, 0)"
        f"{_only_shop(shop_id, ' WHERE st.shop_id = %(shop_id)s')}"
    )


def _missing(shop_id: int | None) -> str:
    """The statuses that do not exist yet, with their values from the aggregate ``w``."""
    return (
        f"SELECT sh.company_id, sh.id, {_N}, {_S}, {tier_case(_N, _S)}, "  # noqa: S608 (table names are constants)  # nosec B608
        "%(today)s, %(now)s, %(now)s, NULL "
        f"FROM {_SHOP} sh LEFT JOIN w a ON a.shop_id = sh.id AND a.product_id IS NULL "
        f"WHERE NOT EXISTS (SELECT 1 FROM {_STATUS} st "
        "WHERE st.shop_id = sh.id AND st.product_id IS NULL)"
        f"{_only_shop(shop_id, ' AND sh.id = %(shop_id)s')} "
        f"UNION ALL SELECT sh.company_id, a.shop_id, a.n, a.s, {tier_case('a.n', 'a.s')}, "
        f"%(today)s, %(now)s, %(now)s, a.product_id FROM w a JOIN {_SHOP} sh ON sh.id = a.shop_id "
        f"WHERE a.product_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {_STATUS} st "
        "WHERE st.shop_id = a.shop_id AND st.product_id = a.product_id)"
    )


def _postgres_statement(shop_id: int | None, window: str) -> str:
    """The whole recompute as one statement over the aggregate ``window`` (a query); answers
    the number of statuses written."""
    kept = "company_id, shop_id, review_count, rating_sum, tier, status_as_of"
    return (
        f"WITH w AS ({window}), c AS ({_computed(shop_id, 'w')}), "  # noqa: S608 (table names are constants)  # nosec B608
        f"u AS (UPDATE {_STATUS} SET review_count = c.n, rating_sum = c.s, tier = c.tier, "
        f"status_as_of = %(today)s, updated_at = CASE WHEN {_CHANGED} THEN %(now)s "
        f"ELSE {_STATUS}.updated_at END FROM c WHERE {_STATUS}.id = c.id "
        f"AND ({_CHANGED} OR {_STATUS}.status_as_of <> %(today)s) RETURNING {_STATUS}.*), "
        f"i AS (INSERT INTO {_STATUS} ({_COLUMNS}, product_id) {_missing(shop_id)} RETURNING *), "
        f"h AS (INSERT INTO {_HISTORY} ({_COLUMNS}, product_id) "
        f"SELECT {kept}, %(now)s, %(now)s, product_id FROM u WHERE updated_at = %(now)s "
        f"UNION ALL SELECT {kept}, %(now)s, %(now)s, product_id FROM i) "
        "SELECT (SELECT COUNT(*) FROM u) + (SELECT COUNT(*) FROM i)"
    )


def _portable_statements(shop_id: int | None) -> list[str]:
    """The same recompute in four statements for databases without data-modifying CTEs.

    Rows inserted by 1 and 2 carry this run's instant, so 3 counts them with the rows it
    changed or re-dated, and 4 copies exactly the rows 1-3 wrote (our own writes, locked until
    commit) into the history, even when a review commits between the statements.
    """
    aggregate = _window_aggregate(shop_id)
    fresh = "%(standard)s, %(today)s, %(now)s, %(now)s"
    return [
        (  # 1. every shop has a merchant status
            f"INSERT INTO {_STATUS} ({_COLUMNS}) SELECT sh.company_id, sh.id, 0, 0, {fresh} "  # noqa: S608 (table names are constants)  # nosec B608
            f"FROM {_SHOP} sh WHERE NOT EXISTS (SELECT 1 FROM {_STATUS} st "
            "WHERE st.shop_id = sh.id AND st.product_id IS NULL)"
            f"{_only_shop(shop_id, ' AND sh.id = %(shop_id)s')}"
        ),
        (  # 2. every product with reviews in the window has a product status
            f"INSERT INTO {_STATUS} ({_COLUMNS}, product_id) "  # noqa: S608 (table names are constants)  # nosec B608
            f"SELECT sh.company_id, a.shop_id, 0, 0, {fresh}, a.product_id FROM ({aggregate}) a "
            f"JOIN {_SHOP} sh ON sh.id = a.shop_id WHERE a.product_id IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {_STATUS} st "
            "WHERE st.shop_id = a.shop_id AND st.product_id = a.product_id)"
        ),
        (  # 3. every status from one grouped aggregate; a changed one gets this run's instant
            f"UPDATE {_STATUS} SET review_count = c.n, rating_sum = c.s, tier = c.tier, "  # noqa: S608 (table names are constants)  # nosec B608
            f"status_as_of = %(today)s, updated_at = CASE WHEN {_CHANGED} THEN %(now)s "
            f"ELSE {_STATUS}.updated_at END FROM ({_computed(shop_id, f'({aggregate})')}) c "
            f"WHERE {_STATUS}.id = c.id AND ({_CHANGED} OR {_STATUS}.status_as_of <> %(today)s "
            f"OR {_STATUS}.updated_at = %(now)s)"
        ),
        (  # 4. history: exactly the rows this run created or changed
            f"INSERT INTO {_HISTORY} ({_COLUMNS}, product_id) "  # noqa: S608 (table names are constants)  # nosec B608
            "SELECT st.company_id, st.shop_id, st.review_count, st.rating_sum, st.tier, "
            f"st.status_as_of, %(now)s, %(now)s, st.product_id FROM {_STATUS} st "
            f"WHERE st.updated_at = %(now)s{_only_shop(shop_id, ' AND st.shop_id = %(shop_id)s')}"
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


def _params(*, shop_id: int | None, since, today, now) -> dict:
    ops = connection.ops
    return {
        "shop_id": shop_id,
        "since": ops.adapt_datetimefield_value(since),
        "today": ops.adapt_datefield_value(today),
        "now": ops.adapt_datetimefield_value(now),
        "published": Review.Status.PUBLISHED,
        "transaction_based": True,
        "standard": scoring.STANDARD,
    }


def _recompute_postgres(cursor, shop_id: int | None, params: dict) -> int:
    if shop_id is not None:  # one shop's reviews, found through its index: aggregate inline
        cursor.execute(_postgres_statement(shop_id, _window_aggregate(shop_id)), params)
        return cursor.fetchone()[0]
    # Every review of the window: Postgres may run that aggregate in parallel in a statement
    # that only reads (CREATE TABLE AS), never in one that writes, so it is kept apart.
    cursor.execute(f"CREATE TEMPORARY TABLE {_WINDOW} AS {_window_aggregate(None)}", params)
    window = f"SELECT shop_id, product_id, n, s FROM {_WINDOW}"  # noqa: S608 (a constant)  # nosec B608
    cursor.execute(_postgres_statement(None, window), params)
    written = cursor.fetchone()[0]
    cursor.execute(f"DROP TABLE {_WINDOW}")
    return written


def _recompute_portable(cursor, shop_id: int | None, params: dict) -> int:
    written = 0
    for number, sql in enumerate(_portable_statements(shop_id), start=1):
        cursor.execute(sql, params)
        if number == 3:
            written = cursor.rowcount
    return written


def recompute(*, shop_id: int | None, since: datetime.datetime, today: datetime.date) -> int:
    """Recompute one shop (or all with ``None``); returns statuses created, changed or re-dated.

    The caller's transaction (``atomic`` here) holds the lock until commit; the aggregate runs
    after the lock is taken, so a recompute always starts from the latest committed reviews and
    a slower, older recompute can never overwrite a newer one (no lost update).
    """
    # Deliberately cross-tenant when shop_id is None: the nightly sweep covers every company.
    params = _params(shop_id=shop_id, since=since, today=today, now=timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        _lock(cursor, shop_id)
        if connection.vendor == "postgresql":
            return _recompute_postgres(cursor, shop_id, params)
        return _recompute_portable(cursor, shop_id, params)
