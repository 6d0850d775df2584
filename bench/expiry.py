"""Expiring rating links: the product's sweep vs one raw ``UPDATE`` over the same rows.

The seeded invitations expire at distinct seconds spread over a year (bench/seed.py), so the
sweep's "now" is chosen as the expiry of the middle one: exactly half of them are due (500,000
of 1,000,000; 10,000 of 20,000 with ``--small``). Before every timed statement the expired
rows get their seeded status back, then ``VACUUM ANALYZE`` and ``CHECKPOINT`` (untimed), so
each run starts from the same table; the product and the baseline take turns going first.
"""

from __future__ import annotations

import datetime
import time

import psycopg

from bench.db import conninfo
from bench.seed import seeded_status_sql
from bench.stats import Figure

TARGET = 1.3
EXPIRE_SQL = (
    "UPDATE invitations_invitation SET status = 'expired', updated_at = %s "
    "WHERE expires_at <= %s AND status <> 'expired'"
)
RESET_SQL = (
    f"UPDATE invitations_invitation SET status = {seeded_status_sql('id')}, "  # noqa: S608 (constant SQL)  # nosec B608
    "updated_at = created_at WHERE status = %s"
)


def cutoff(conn: psycopg.Connection) -> tuple[datetime.datetime, int, int]:
    """The sweep's "now" that makes half the links due: (now, due, total)."""
    total = conn.execute("SELECT count(*) FROM invitations_invitation").fetchone()[0]
    half = max(1, total // 2)
    now = conn.execute(
        "SELECT expires_at FROM invitations_invitation ORDER BY expires_at OFFSET %s LIMIT 1",
        (half - 1,),
    ).fetchone()[0]
    return now, due_count(conn, now), total


def due_count(conn: psycopg.Connection, now: datetime.datetime) -> int:
    return conn.execute(
        "SELECT count(*) FROM invitations_invitation WHERE expires_at <= %s "
        "AND status <> 'expired'",
        (now,),
    ).fetchone()[0]


def reset(dbname: str) -> int:
    """Every expired link back to its seeded status, then vacuum and checkpoint (untimed)."""
    with psycopg.connect(conninfo(dbname), autocommit=True) as conn:
        restored = conn.execute(RESET_SQL, ("expired",)).rowcount
        conn.execute("VACUUM ANALYZE invitations_invitation")
        conn.execute("CHECKPOINT")
        return restored


def _product_once(now: datetime.datetime) -> tuple[float, int]:
    from invitations.services import invitations_expire

    started = time.perf_counter()
    expired = invitations_expire(now=now)
    return time.perf_counter() - started, expired


def _raw_once(now: datetime.datetime) -> tuple[float, int]:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(EXPIRE_SQL, [now, now])
        expired = cursor.rowcount
    return time.perf_counter() - started, expired


def expiry_figure(*, dbname: str, runs: int) -> Figure:
    with psycopg.connect(conninfo(dbname)) as conn:
        now, due, total = cutoff(conn)
    product, raw = [], []
    for run in range(runs):
        order = (("product", _product_once), ("raw", _raw_once))
        for which, once in order if run % 2 == 0 else order[::-1]:
            reset(dbname)
            elapsed, expired = once(now)
            if expired != due:
                raise RuntimeError(f"{which} expired {expired} links, {due} were due")
            (product if which == "product" else raw).append(elapsed)
    reset(dbname)  # leave the links as seeded for the figures after this one
    return Figure(
        name=f"expire links ({due:,} due of {total:,})",
        unit="s",
        samples=product,
        baseline_samples=raw,
        target=TARGET,
        higher_is_better=False,
        note="invitations_expire (the expire_links job) vs one raw UPDATE of the same rows",
        extra={"due": due, "total": total, "now": now.isoformat()},
    )
