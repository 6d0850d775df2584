"""The front, rating and expiry figures' own code: nginx config, cache log arithmetic, the rating
page's cookies and form, skipped figures, and the seeding they rely on (no timings)."""

import hashlib
import json
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from bench import db, expiry, front, rating
from bench.__main__ import _parser
from bench.stats import Figure, table, write_json

ROOT = Path(__file__).resolve().parents[2]


# --- skipped figures ----------------------------------------------------------------------------


def test_a_skipped_figure_says_why_in_the_table_and_the_json(tmp_path):
    skipped = Figure.skip("seal.svg via nginx: throughput", "req/s", target=0.5,
                          higher_is_better=True, reason="nginx not installed")  # fmt: skip
    measured = Figure("recompute", "s", [1.0, 2.0], [1.0], target=2.0, higher_is_better=False)

    lines = table([skipped, measured]).splitlines()
    report = json.loads(write_json([skipped, measured], meta={}, directory=tmp_path).read_text())

    assert "SKIPPED: nginx not installed" in lines[2] and "n/a" in lines[2]
    assert "PASS" in lines[3]
    first = report["figures"][0]
    assert first["skipped"] == "nginx not installed"
    assert (first["median"], first["min"], first["max"], first["ratio"], first["pass"]) == (
        None, None, None, None, None,
    )  # fmt: skip
    assert "skipped" not in report["figures"][1]


def test_without_nginx_or_wrk_every_front_figure_is_skipped_with_the_reason(monkeypatch):
    monkeypatch.setattr(front.shutil, "which", lambda tool: None if tool == "wrk" else "/x")

    reason = front.missing_tools()
    figures = front.front_figures(origin="http://127.0.0.1:1", shops=3, runs=1, seconds=1,
                                  connections=1)  # fmt: skip

    assert reason == "wrk not installed (apt-get install -y wrk)"
    assert len(figures) == 6
    assert all(f.skipped == reason and f.passed is None for f in figures)
    assert {f.target for f in figures} == {0.5, 2.0}


# --- nginx ----------------------------------------------------------------------------------------


def test_the_nginx_config_fills_every_field_and_caches_only_the_proxied_paths(tmp_path):
    config = front.prepare_prefix(tmp_path, port=12345, upstream="127.0.0.1:23456")
    text = config.read_text()

    assert "{{" not in text
    assert "listen 127.0.0.1:12345;" in text
    assert "server 127.0.0.1:23456;" in text
    assert f"proxy_cache_path {tmp_path}/cache" in text
    # The location is the production front's, included as it is (docker-compose.yml).
    assert f"include {front.PUBLIC_CACHE};" in text
    shared = front.PUBLIC_CACHE.read_text()
    directives = [line for line in shared.splitlines() if not line.lstrip().startswith("#")]
    assert any(d.startswith("proxy_cache public;") for d in directives)
    # The origin decides what is cached and for how long.
    assert not [
        d for d in directives if d.startswith(("proxy_ignore_headers", "proxy_cache_valid"))
    ]
    assert f"location = /{front.STATIC_NAME}" in text
    assert (tmp_path / "html" / front.STATIC_NAME).stat().st_size == front.STATIC_BYTES == 2048


def test_nginx_accepts_the_rendered_config(tmp_path):
    """The template renders to a config nginx accepts (make test installs nginx: bench-tools)."""
    config = front.prepare_prefix(tmp_path, port=12345, upstream="127.0.0.1:23456")

    result = subprocess.run(
        ["nginx", "-t", "-p", f"{tmp_path}/", "-c", str(config), "-e", str(tmp_path / "e.log")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr


def test_it_counts_cache_verdicts_per_run_from_the_access_log(tmp_path):
    path = tmp_path / "access.log"
    path.write_text("-\nMISS\n")
    log = front.AccessLog(path)  # what was there before is not counted
    with path.open("a") as out:
        out.write("HIT\nHIT\nMISS\nHIT\nEXPIRED\nHI")  # the last line is still being written
    first = log.since_last()
    with path.open("a") as out:
        out.write("T\n-\n")

    assert first == {"HIT": 3, "MISS": 1, "EXPIRED": 1}
    assert front.hit_share(first) == pytest.approx(0.6)
    assert log.since_last() == {"HIT": 1, "-": 1}
    assert log.since_last() == {}
    assert front.hit_share({}) is None


# --- rating page --------------------------------------------------------------------------------


def test_it_keeps_the_cookies_the_rating_page_sets_and_finds_its_csrf_token():
    cookies = rating.set_cookies(
        [
            "sessionid=abc123; expires=Sun, 22 Nov 2026 10:00:00 GMT; HttpOnly; Path=/",
            "csrftoken=tok456; Path=/; SameSite=Lax",
        ]
    )
    html = '<form><input type="hidden" name="csrfmiddlewaretoken" value="form789"></form>'

    assert cookies == {"sessionid": "abc123", "csrftoken": "tok456"}
    assert rating.csrf_token(html) == "form789"
    with pytest.raises(RuntimeError, match="CSRF"):
        rating.csrf_token("<form></form>")


def test_the_form_body_rates_the_shop_and_the_ordered_product():
    session = rating.Session(rating.Link(7, "t" * 43, product_id=42), csrf="form789")

    body = rating.form_body(session).decode()

    assert "csrfmiddlewaretoken=form789" in body
    assert "merchant_rating=4" in body and "product_42_rating=5" in body


def test_the_run_command_takes_a_number_of_submissions():
    args = _parser().parse_args(["run", "--small", "--submissions", "7"])

    assert args.submissions == 7


# --- seeding for the expiry and rating figures --------------------------------------------------


@pytest.fixture(scope="module")
def seeded():
    name = f"ekomi_bench_test_{secrets.token_hex(4)}"
    try:
        subprocess.run(
            [sys.executable, "-m", "bench", "seed", "--shops", "3", "--reviews", "30",
             "--invitations", "40", "--db-name", name, "--keep-db"],
            cwd=ROOT, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        yield name
    finally:
        db.database_drop(name=name)


def _statuses(conn) -> dict[int, str]:
    return dict(conn.execute("SELECT id, status FROM invitations_invitation").fetchall())


def test_the_sweep_time_makes_exactly_half_the_seeded_links_due(seeded):
    with psycopg.connect(db.conninfo(seeded)) as conn:
        distinct = conn.execute(
            "SELECT count(DISTINCT expires_at) FROM invitations_invitation"
        ).fetchone()[0]
        now, due, total = expiry.cutoff(conn)

    assert (due, total) == (20, 40)
    assert distinct == 40


def test_the_raw_update_expires_the_due_links_and_reset_restores_the_seed(seeded):
    with psycopg.connect(db.conninfo(seeded), autocommit=True) as conn:
        before = _statuses(conn)
        now, due, _ = expiry.cutoff(conn)
        expired = conn.execute(expiry.EXPIRE_SQL, (now, now)).rowcount
        left_due = expiry.due_count(conn, now)
    restored = expiry.reset(seeded)
    with psycopg.connect(db.conninfo(seeded)) as conn:
        after = _statuses(conn)

    assert expired == restored == due == 20
    assert left_due == 0
    assert after == before
    assert set(before.values()) == {"scheduled", "sent"}


def test_rating_links_carry_tokens_the_product_can_look_up(seeded):
    from invitations.tokens import hash_token

    links = rating.create_links(dbname=seeded, n=4, shops=3, tag="t1")
    try:
        rows, shops = _link_rows(seeded, links)
    finally:
        _delete_links(seeded, links)

    assert len(links) == len({link.token for link in links}) == 4
    ((_, token_hash, status, valid, shop_company, company, items),) = rows
    assert token_hash == hash_token(links[0].token)
    assert token_hash == hashlib.sha256(links[0].token.encode()).hexdigest()
    assert (status, valid, items) == ("sent", True, 1)
    assert shop_company == company
    assert shops == 3


def _link_rows(dbname: str, links):
    with psycopg.connect(db.conninfo(dbname)) as conn:
        rows = conn.execute(
            "SELECT i.id, i.token_hash, i.status, i.expires_at > now(), s.company_id, "
            "i.company_id, (SELECT count(*) FROM invitations_orderitem oi "
            "WHERE oi.order_id = i.order_id AND oi.product_id = %s) "
            "FROM invitations_invitation i JOIN companies_shop s ON s.id = i.shop_id "
            "WHERE i.id = %s",
            (links[0].product_id, links[0].invitation_id),
        ).fetchall()
        shops = conn.execute(
            "SELECT count(DISTINCT shop_id) FROM invitations_invitation WHERE id = ANY(%s)",
            ([link.invitation_id for link in links],),
        ).fetchone()[0]
    assert rating.stored(dbname=dbname, links=links) == 0
    return rows, shops


def _delete_links(dbname: str, links) -> None:
    """The other tests of this module count the seeded invitations only."""
    ids = [link.invitation_id for link in links]
    with psycopg.connect(db.conninfo(dbname)) as conn:
        orders = [
            row[0]
            for row in conn.execute(
                "DELETE FROM invitations_invitation WHERE id = ANY(%s) RETURNING order_id", (ids,)
            ).fetchall()
        ]
        conn.execute("DELETE FROM invitations_orderitem WHERE order_id = ANY(%s)", (orders,))
        conn.execute("DELETE FROM invitations_order WHERE id = ANY(%s)", (orders,))
