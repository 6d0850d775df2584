"""Rating submissions through the rating page, vs a bare Django view doing one ``INSERT``.

Each run seeds fresh invitations with known tokens (one order item each, spread over the
shops), then, untimed, opens every link as a browser does: ``GET /r/<token>/`` (303, a review
session) and ``GET /r/`` (the form and its CSRF token). Timed: the form ``POST /r/`` of every
link (303 to ``/r/thanks/``, not followed), ``connections`` at a time; a submission counts when
its review is stored and its invitation is ``rated``; the screening that publishes it is queued
for a worker (none runs during the figure): the submission joins the screening list beside the
broker's queues, and one Celery message wakes a worker per batch. Messages and waiting
submissions are counted from the broker. The baseline sends the same bodies with the same
concurrency to ``/_bench/insert`` (``bench/urls.py`` only), which stores one row in
``bench_submission``. Before each run's timing, a few submissions per connection go to both
(untimed), so that each gunicorn worker's first broker publish and first statements are not
timed: the figure is the steady state.
"""

from __future__ import annotations

import datetime
import http.client
import re
import secrets
import sys
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import psycopg

from bench.db import conninfo
from bench.stats import Figure

TARGET = 0.5
WARM_UP_PER_CONNECTION = 5  # untimed submissions per connection before each run's timing
BASELINE_TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS bench_submission (id bigserial PRIMARY KEY, "
    "rating integer NOT NULL, comment text NOT NULL, created_at timestamptz NOT NULL)"
)
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class Link:
    invitation_id: int
    token: str
    product_id: int


@dataclass
class Session:
    link: Link
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""


# --- fixture ------------------------------------------------------------------------------------


def create_links(*, dbname: str, n: int, shops: int, tag: str) -> list[Link]:
    """``n`` orders with one item (the shop's ``sku-1``) and a sent invitation each, whose tokens
    are derived as the product derives them (``invitations.tokens``)."""
    from invitations.tokens import token_for

    now = datetime.datetime.now(tz=datetime.UTC)
    with psycopg.connect(conninfo(dbname)) as conn, conn.cursor() as cur:
        orders = cur.execute(
            "INSERT INTO invitations_order (company_id, shop_id, order_id, ordered_at, locale, "
            "consent, created_at, updated_at) "
            "SELECT s.company_id, s.id, %(tag)s || '-' || i, %(ordered)s, 'de', true, %(now)s, "
            "%(now)s FROM generate_series(1, %(n)s) AS i "
            "JOIN companies_shop s ON s.id = 1 + (i - 1) %% %(shops)s "
            "RETURNING id, company_id, shop_id",
            {"tag": tag, "n": n, "shops": shops, "now": now,
             "ordered": now - datetime.timedelta(days=8)},
        ).fetchall()  # fmt: skip
        products = dict(
            cur.execute(
                "SELECT shop_id, id FROM companies_product WHERE product_id = 'sku-1' "
                "AND shop_id = ANY(%s)",
                ([shop_id for _, _, shop_id in orders],),
            ).fetchall()
        )
        with cur.copy(
            "COPY invitations_orderitem (company_id, shop_id, order_id, product_id, created_at, "
            "updated_at) FROM STDIN"
        ) as copy:
            for order_id, company_id, shop_id in orders:
                copy.write_row((company_id, shop_id, order_id, products[shop_id], now, now))
        nonces = {order_id: secrets.token_hex(32) for order_id, _, _ in orders}
        _copy_invitations(cur, orders, nonces, now)
        ids = dict(
            cur.execute(
                "SELECT order_id, id FROM invitations_invitation WHERE order_id = ANY(%s)",
                (list(nonces),),
            ).fetchall()
        )
        conn.commit()
    links = [
        Link(ids[order_id], token_for(nonces[order_id]), products[shop_id])
        for order_id, _, shop_id in orders
    ]
    return links


def _copy_invitations(cur, orders, nonces: dict[int, str], now: datetime.datetime) -> None:
    from invitations.tokens import hash_token, token_for

    columns = (
        "company_id, shop_id, order_id, public_id, token_nonce, token_hash, email, first_name, "
        "last_name, status, suppression_reason, due_at, sent_at, reminders_sent, send_attempts, "
        "last_error, expires_at, created_at, updated_at"
    )
    sent = now - datetime.timedelta(days=1)
    expires = now + datetime.timedelta(days=180)
    with cur.copy(f"COPY invitations_invitation ({columns}) FROM STDIN") as copy:
        for order_id, company_id, shop_id in orders:
            nonce = nonces[order_id]
            copy.write_row(
                (company_id, shop_id, order_id, uuid.uuid4(), nonce,
                 hash_token(token_for(nonce)), f"rater{order_id}@example.com", "Kim", "Buyer",
                 "sent", "", sent, sent, 0, 1, "", expires, now, now)
            )  # fmt: skip


def stored(*, dbname: str, links: list[Link]) -> int:
    """Links whose merchant review is stored and whose invitation is ``rated``."""
    ids = [link.invitation_id for link in links]
    with psycopg.connect(conninfo(dbname)) as conn:
        return conn.execute(
            "SELECT count(*) FROM invitations_invitation i WHERE i.id = ANY(%s) "
            "AND i.status = 'rated' AND EXISTS (SELECT 1 FROM reviews_review r "
            "WHERE r.invitation_id = i.id AND r.kind = 'merchant')",
            (ids,),
        ).fetchone()[0]


def baseline_rows(dbname: str) -> int:
    with psycopg.connect(conninfo(dbname)) as conn:
        return conn.execute("SELECT count(*) FROM bench_submission").fetchone()[0]


def create_baseline_table(dbname: str) -> None:
    with psycopg.connect(conninfo(dbname)) as conn:
        conn.execute(BASELINE_TABLE_SQL)


# --- HTTP ---------------------------------------------------------------------------------------


def set_cookies(headers: list[str]) -> dict[str, str]:
    """Name and value of every ``Set-Cookie`` header (attributes dropped)."""
    jar: dict[str, str] = {}
    for header in headers:
        cookie = SimpleCookie()
        cookie.load(header)
        jar.update({name: morsel.value for name, morsel in cookie.items()})
    return jar


def csrf_token(html: str) -> str:
    match = _CSRF_INPUT.search(html)
    if not match:
        raise RuntimeError("the rating form carries no CSRF token")
    return match.group(1)


def form_body(session: Session) -> bytes:
    fields = {
        "csrfmiddlewaretoken": session.csrf,
        "merchant_rating": "4",
        "merchant_comment": "Fast delivery, well packed, would buy again.",
        "display_name": "Kim B.",
        "dialogue_email": "",
        f"product_{session.link.product_id}_rating": "5",
        f"product_{session.link.product_id}_comment": "Works as described.",
    }
    return urllib.parse.urlencode(fields).encode()


def _request(base: str, method: str, path: str, *, cookies=None, body=None, headers=None):
    """One request on a fresh connection, redirects not followed: (status, cookies, text)."""
    parsed = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
    try:
        sent = dict(headers or {})
        if cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return response.status, set_cookies(response.msg.get_all("Set-Cookie") or []), text
    finally:
        conn.close()


def open_session(base: str, link: Link) -> Session:
    """As a browser: the link (303 and a review session), then the form (its CSRF token)."""
    session = Session(link)
    status, cookies, _ = _request(base, "GET", f"/r/{link.token}/")
    if status != 303:
        raise RuntimeError(f"opening a rating link answered {status}")
    session.cookies.update(cookies)
    status, cookies, html = _request(base, "GET", "/r/", cookies=session.cookies)
    if status != 200:
        raise RuntimeError(f"the rating form answered {status}")
    session.cookies.update(cookies)
    session.csrf = csrf_token(html)
    return session


def _post(base: str, path: str, session: Session) -> int:
    status, _, _ = _request(
        base, "POST", path, cookies=session.cookies, body=form_body(session),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": base},
    )  # fmt: skip
    return status


def post_all(base: str, path: str, sessions: list[Session], connections: int):
    """Every form POST, ``connections`` at a time: (seconds, statuses)."""
    with ThreadPoolExecutor(max_workers=connections) as pool:
        started = time.perf_counter()
        statuses = list(pool.map(lambda s: _post(base, path, s), sessions))
        return time.perf_counter() - started, statuses


def _queued(broker_url: str, screening_list: str) -> tuple[int, int] | None:
    """Messages waiting in the Celery broker's default queue (kombu's Redis list) and
    submissions waiting in the screening list beside it (``reviews.services_submission``)."""
    try:
        import redis

        client = redis.Redis.from_url(broker_url)
        return client.llen("default"), client.llen(screening_list)
    except Exception:  # noqa: BLE001 - informative only; the figure does not depend on it
        return None


# --- figure -------------------------------------------------------------------------------------


def rating_figure(*, dbname: str, base: str, shops: int, runs: int, n: int, connections: int):
    from django.conf import settings

    create_baseline_table(dbname)
    rates, base_rates, failed, queued, base_failed = [], [], [], [], []
    for run in range(runs):
        warm = WARM_UP_PER_CONNECTION * connections
        links = create_links(
            dbname=dbname, n=n + warm, shops=shops, tag=f"rate{secrets.token_hex(3)}"
        )
        with ThreadPoolExecutor(max_workers=connections) as pool:
            sessions = list(pool.map(lambda link: open_session(base, link), links))
        # Untimed: each gunicorn worker's first publish and first calls (steady state is timed).
        post_all(base, "/r/", sessions[:warm], connections)
        post_all(base, "/_bench/insert", sessions[:warm], connections)
        links, sessions = links[warm:], sessions[warm:]
        before = _queued(settings.CELERY_BROKER_URL, settings.REVIEW_SCREENING_LIST)
        elapsed, statuses = post_all(base, "/r/", sessions, connections)
        after = _queued(settings.CELERY_BROKER_URL, settings.REVIEW_SCREENING_LIST)
        ok = stored(dbname=dbname, links=links)
        rates.append(ok / elapsed)
        failed.append(n - ok)
        grown = None
        if before is not None and after is not None:
            grown = [b - a for a, b in zip(before, after, strict=True)]
        queued.append(grown)
        if ok != n:
            print(f"rating run {run}: {n - ok} of {n} not stored; statuses "
                  f"{sorted(set(statuses))}", file=sys.stderr)  # fmt: skip
        rows = baseline_rows(dbname)
        elapsed, statuses = post_all(base, "/_bench/insert", sessions, connections)
        inserted = baseline_rows(dbname) - rows
        base_rates.append(inserted / elapsed)
        base_failed.append(n - inserted)
    return Figure(
        name=f"rating submissions ({n:,}/run)",
        unit="subm/s",
        samples=rates,
        baseline_samples=base_rates,
        target=TARGET,
        higher_is_better=True,
        note="form POST /r/ (review stored, recompute queued) vs a bare view doing one INSERT",
        extra={"not_stored": failed, "queued_messages_and_waiting_submissions": queued,
               "baseline_not_inserted": base_failed},
    )  # fmt: skip
