"""A realistic dataset seeded set-based: generate_series on the server, COPY from the client.

Companies and shops are generated here and sent with ``COPY``; orders, invitations, products
and reviews are generated inside Postgres with ``generate_series`` (no round trip per row).
Each company owns two shops; every tenant row carries its shop's company.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from psycopg import sql

from bench.db import conninfo


@dataclass(frozen=True)
class Scale:
    shops: int
    reviews: int
    invitations: int
    products_per_shop: int = 10
    months: int = 24

    @property
    def companies(self) -> int:
        return (self.shops + 1) // 2


DEFAULT = Scale(shops=10_000, reviews=10_000_000, invitations=1_000_000)
SMALL = Scale(shops=200, reviews=200_000, invitations=20_000)

_COMPANY_COLUMNS = (
    "id, name, street, postal_code, city, country, vat_id, status, created_at, updated_at"
)
_SHOP_COLUMNS = (
    "id, company_id, slug, name, website, logo, default_locale, invitation_delay_days, "
    "delay_basis, reminder_count, reminder_interval_days, non_transaction_reviews_enabled, "
    "interface_id, interface_password_hash, selection_group_criteria, public_pages_disabled, "
    "ratings_stopped, seal_state, media_published_without_moderator, went_live_at, "
    "created_at, updated_at"
)

# Orders and invitations: order i belongs to shop 1 + (i-1) % shops; its invitation is sent,
# used or expired depending on its age. Orders are spread evenly over the last 12 months at
# distinct seconds (n <= 365 * 86,400), so any share of the links can be made due at once by
# choosing the expiry sweep's "now" (bench/expiry.py): about half of them are due today.
YEAR_SECONDS = 365 * 86_400
_ORDERS_SQL = """
INSERT INTO invitations_order
    (id, company_id, shop_id, order_id, ordered_at, locale, consent, created_at, updated_at)
SELECT i, s.company_id, s.id, 'seed-' || i,
       %(now)s - ((i - 1)::bigint * %(year)s / %(n)s) * interval '1 second', 'de', true,
       %(now)s, %(now)s
FROM generate_series(1, %(n)s) AS i
JOIN companies_shop s ON s.id = 1 + (i - 1) %% %(shops)s
"""
_INVITATIONS_SQL = """
INSERT INTO invitations_invitation
    (id, company_id, shop_id, order_id, public_id, token_nonce, token_hash, email, first_name,
     last_name, status, suppression_reason, due_at, sent_at, reminders_sent, send_attempts,
     last_error, expires_at, created_at, updated_at)
SELECT o.id, o.company_id, o.shop_id, o.id, md5('inv' || o.id)::uuid, md5('nonce' || o.id),
       md5('a' || o.id) || md5('b' || o.id), 'buyer' || o.id || '@example.com', 'Kim', 'Buyer',
       {status}, '',
       o.ordered_at + interval '7 days',
       CASE WHEN o.id %% 10 = 0 THEN NULL ELSE o.ordered_at + interval '7 days' END,
       0, 1, '', o.ordered_at + interval '6 months', o.ordered_at, o.ordered_at
FROM invitations_order o WHERE o.id BETWEEN 1 AND %(n)s
"""


def seeded_status_sql(column: str) -> str:
    """The status a seeded invitation starts with: 1 in 10 still scheduled, the others sent.

    ``column`` is a trusted constant (the id column); ``%`` is escaped for psycopg parameters.
    """
    return f"CASE WHEN {column} %% 10 = 0 THEN 'scheduled' ELSE 'sent' END"


_INVITATIONS_SQL = _INVITATIONS_SQL.format(status=seeded_status_sql("o.id"))
_PRODUCTS_SQL = """
INSERT INTO companies_product
    (id, company_id, shop_id, product_id, name, brand, gtin, mpn, sku, image_url, link,
     created_at, updated_at)
SELECT (s.id - 1) * %(per)s + p, s.company_id, s.id, 'sku-' || p, 'Product ' || p, 'Brand',
       '', '', '', '', '', %(now)s, %(now)s
FROM companies_shop s CROSS JOIN generate_series(1, %(per)s) AS p
"""
# Reviews over the last ``months`` months; ratings skewed to 4-5 stars like real shops; 1 in 4
# a product review; 1 in 20 still pending, 1 in 50 unpublished.
_REVIEWS_SQL = """
INSERT INTO reviews_review
    (company_id, shop_id, kind, product_id, is_transaction_based, rating, comment, display_name,
     dialogue_email, author_email, status, public_id, version, submitted_at, published_at,
     created_at, updated_at)
SELECT s.company_id, s.id,
       CASE WHEN i %% 4 = 0 THEN 'product' ELSE 'merchant' END,
       CASE WHEN i %% 4 = 0 THEN (s.id - 1) * %(per)s + 1 + (i / 4) %% %(per)s END,
       true, (ARRAY[5,5,5,5,4,4,4,3,2,1])[1 + (i * 7) %% 10],
       'Fast delivery, good product.', 'Kim B.', '', '',
       CASE WHEN i %% 20 = 7 THEN 'pending' WHEN i %% 50 = 3 THEN 'unpublished'
            ELSE 'published' END,
       md5('rev' || i)::uuid, 1, t.at, t.at, t.at, t.at
FROM generate_series(1, %(n)s) AS i
JOIN companies_shop s ON s.id = 1 + (i - 1) %% %(shops)s
CROSS JOIN LATERAL (
    SELECT %(now)s - ((i::bigint * 7919) %% (%(days)s * 24)) * interval '1 hour' AS at
) AS t
"""


def _company_rows(scale: Scale, now: datetime.datetime):
    for cid in range(1, scale.companies + 1):
        yield (
            cid,
            f"Bench Company {cid}",
            "Hauptstr. 1",
            "10115",
            "Berlin",
            "DE",
            "",
            "active",
            now,
            now,
        )


def _shop_rows(scale: Scale, now: datetime.datetime):
    for sid in range(1, scale.shops + 1):
        yield (
            sid,
            (sid + 1) // 2,
            f"bench-shop-{sid}",
            f"Bench Shop {sid}",
            f"https://shop{sid}.example.com",
            "",
            "de",
            7,
            "order",
            1,
            7,
            False,
            f"bench{sid:08d}",
            "!",
            "",
            False,
            False,
            "active",
            False,
            now,
            now,
            now,
        )


def _copy(cur, table: str, columns: str, rows) -> None:
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _reset_sequences(cur) -> None:
    for table in (
        "companies_company",
        "companies_shop",
        "companies_product",
        "invitations_order",
        "invitations_invitation",
        "reviews_review",
    ):
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 (table names are constants)  # nosec B608
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
        )


# The big tables lose their plain indexes while they are filled and get them back, built in one
# pass each, afterwards (as pg_restore does): the unique ones stay, so the keys are checked as
# the rows go in. Maintaining 8 secondary indexes (a GIN among them) row by row was most of
# the seeding time at the default scale.
BULK_TABLES = ("invitations_order", "invitations_invitation", "reviews_review")
_PLAIN_INDEXES_SQL = """
SELECT c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname = %s AND t.relnamespace = 'public'::regnamespace
  AND NOT i.indisunique AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY c.relname
"""


@contextlib.contextmanager
def plain_indexes_deferred(cur, tables: tuple[str, ...] = BULK_TABLES) -> Iterator[None]:
    """Drop the tables' plain (not unique, no constraint's) indexes, then create them again from
    their own definitions; in the caller's transaction."""
    definitions = []
    for table in tables:
        definitions += cur.execute(_PLAIN_INDEXES_SQL, (table,)).fetchall()
    for name, _ in definitions:
        cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    yield
    # The deferred key checks of the new rows run now: Postgres builds no index on a table with
    # trigger events pending.
    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _, definition in definitions:
        cur.execute(definition)


def seed(*, dbname: str, scale: Scale, now: datetime.datetime | None = None) -> dict[str, int]:
    """Fill an empty, migrated database; answers the row count of each seeded table."""
    now = now or datetime.datetime.now(tz=datetime.UTC)
    params = {
        "now": now,
        "shops": scale.shops,
        "per": scale.products_per_shop,
        "days": scale.months * 30,
        "year": YEAR_SECONDS,
    }
    with psycopg.connect(conninfo(dbname)) as conn, conn.cursor() as cur:
        _copy(cur, "companies_company", _COMPANY_COLUMNS, _company_rows(scale, now))
        _copy(cur, "companies_shop", _SHOP_COLUMNS, _shop_rows(scale, now))
        cur.execute(_PRODUCTS_SQL, params)
        with plain_indexes_deferred(cur):
            cur.execute(_ORDERS_SQL, {**params, "n": scale.invitations})
            cur.execute(_INVITATIONS_SQL, {**params, "n": scale.invitations})
            cur.execute(_REVIEWS_SQL, {**params, "n": scale.reviews})
        _reset_sequences(cur)
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
        return row_counts(cur)


SEEDED_TABLES = (
    "companies_company",
    "companies_shop",
    "companies_product",
    "invitations_order",
    "invitations_invitation",
    "reviews_review",
)


def row_counts(cur) -> dict[str, int]:
    counts = {}
    for table in SEEDED_TABLES:
        cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (table names are constants)  # nosec B608
        counts[table] = cur.fetchone()[0]
    return counts
