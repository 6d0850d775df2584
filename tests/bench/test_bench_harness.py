"""The benchmark harness's own code: statistics, table, JSON and a tiny seed (no timings)."""

import json
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.test import override_settings

from bench import db, load
from bench.stats import Figure, table, write_json

ROOT = Path(__file__).resolve().parents[2]


def _rate(samples, baseline):
    return Figure("orders", "orders/s", samples, baseline, target=0.25, higher_is_better=True)


def _duration(samples, baseline):
    return Figure("recompute", "s", samples, baseline, target=2.0, higher_is_better=False)


def test_it_reports_median_and_ratio_to_the_baseline_median():
    figure = _rate([300.0, 100.0, 200.0], [1000.0, 400.0, 900.0])

    assert figure.median == 200.0
    assert figure.baseline_median == 900.0
    assert figure.ratio == pytest.approx(200 / 900)
    assert figure.passed is False


def test_it_reads_a_duration_ratio_as_at_most_the_target():
    assert _duration([1.9, 2.1, 2.0], [1.0, 1.0, 1.2]).passed is True
    assert _duration([3.0, 3.1, 2.9], [1.0, 1.0, 1.0]).passed is False


def test_it_has_no_verdict_when_the_baseline_is_zero():
    figure = _rate([5.0], [0.0])

    assert figure.ratio is None
    assert figure.passed is None
    assert "n/a" in table([figure])


def test_it_prints_one_table_row_per_figure_with_min_max_and_verdict():
    text = table([_rate([300.0, 100.0, 200.0], [400.0]), _duration([1.0], [2.0])])
    lines = text.splitlines()

    assert len(lines) == 4  # header, rule, two figures
    assert "100-300" in lines[2] and "FAIL" not in lines[2] and "PASS" in lines[2]
    assert lines[3].startswith("recompute") and "≤ 2.0×" in lines[3]


def test_it_writes_json_with_every_field_of_every_figure(tmp_path):
    path = write_json(
        [_rate([300.0, 100.0, 200.0], [400.0, 800.0]), _duration([1.0, 3.0], [1.0])],
        meta={"scale": {"shops": 3}},
        directory=tmp_path,
    )

    report = json.loads(path.read_text())
    assert path.parent == tmp_path and path.suffix == ".json"
    assert report["meta"] == {"scale": {"shops": 3}}
    first, second = report["figures"]
    for key in ("median", "min", "max", "baseline_median", "ratio", "target", "pass"):
        assert key in first
    assert (first["min"], first["max"], first["baseline_median"]) == (100.0, 300.0, 600.0)
    assert first["ratio"] == pytest.approx(200 / 600)
    assert first["pass"] is True and first["target_reads"] == ">= 0.25 x"
    assert second["pass"] is True and second["target_reads"] == "<= 2.0 x"


def test_it_prints_a_reference_figure_with_its_ratio_and_no_verdict(tmp_path):
    """Issue 12: the origin's reference row (the "ok" view plus one read) carries a ratio that
    the surfaces are read against, but no target and so neither PASS nor FAIL."""
    reference = Figure("one row", "req/s", [600.0, 700.0, 650.0], [1000.0], target=None,
                       higher_is_better=True)  # fmt: skip

    assert reference.ratio == pytest.approx(0.65)
    assert reference.passed is None
    row = table([reference]).splitlines()[2].split()
    assert row[-3:] == ["0.650", "reference", "-"]
    figure = json.loads(write_json([reference], meta={}, directory=tmp_path).read_text())
    assert figure["figures"][0]["target_reads"] == "reference"
    assert figure["figures"][0]["pass"] is None


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="bench.urls")
def test_it_serves_the_reference_view_one_shops_name_by_its_slug(client, shop):
    """Issue 12: ``/_bench/one-row/<slug>`` reads one row; an unknown slug is a 404."""
    response = client.get(f"/_bench/one-row/{shop.slug}")

    assert response.status_code == 200
    assert response.content.decode() == shop.name
    assert client.get("/_bench/one-row/no-such-shop").status_code == 404


WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:8000
  1 threads and 4 connections
  Latency Distribution
     50%    1.20ms
     75%    1.90ms
     90%    2.50ms
     99%   12.34ms
  2000 requests in 5.00s, 1.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:    400.12
"""


def test_it_reads_throughput_p99_and_errors_from_wrk():
    result = load.parse_wrk(WRK_OUTPUT)

    assert result == load.LoadResult(400.12, 12.34, 2000, 3)
    assert load.parse_wrk(WRK_OUTPUT.replace("12.34ms", "1.50s")).p99_ms == 1500.0


def test_it_refuses_to_touch_a_database_not_named_for_the_benchmark():
    with pytest.raises(ValueError, match="ekomi_bench"):
        db.database_drop(name="ekomi")


@pytest.mark.django_db
def test_it_seeds_a_tiny_dataset_where_every_row_belongs_to_its_shops_company():
    """Issue 12: the seeded rows are consistent, and the big tables end with exactly the indexes
    the migrations gave them (the seed drops their plain indexes while filling them)."""
    name = f"ekomi_bench_test_{secrets.token_hex(4)}"
    try:
        subprocess.run(
            [sys.executable, "-m", "bench", "seed", "--shops", "3", "--reviews", "300",
             "--invitations", "30", "--db-name", name, "--keep-db"],
            cwd=ROOT, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        with psycopg.connect(db.conninfo(name)) as conn:
            counts = _counts(conn)
            mismatched = _rows_outside_their_shops_company(conn)
            seeded_indexes = _index_definitions(conn.cursor())
    finally:
        db.database_drop(name=name)

    with connection.cursor() as cursor:  # the test database: migrated, never seeded
        assert seeded_indexes == _index_definitions(cursor)
    assert any("USING gin" in definition for _, definition in seeded_indexes)

    assert counts == {
        "companies_company": 2,
        "companies_shop": 3,
        "companies_product": 30,
        "invitations_order": 30,
        "invitations_invitation": 30,
        "reviews_review": 300,
    }
    assert mismatched == {"companies_product": 0, "invitations_order": 0,
                          "invitations_invitation": 0, "reviews_review": 0}  # fmt: skip


def _index_definitions(cursor) -> set[tuple[str, str]]:
    from bench.seed import BULK_TABLES

    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename = ANY(%s)",
        [list(BULK_TABLES)],
    )
    return set(cursor.fetchall())


def _counts(conn) -> dict[str, int]:
    from bench.seed import SEEDED_TABLES

    return {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        for table in SEEDED_TABLES
    }


def _rows_outside_their_shops_company(conn) -> dict[str, int]:
    tables = ("companies_product", "invitations_order", "invitations_invitation", "reviews_review")
    return {
        table: conn.execute(
            f"SELECT count(*) FROM {table} t JOIN companies_shop s ON s.id = t.shop_id "  # noqa: S608
            "WHERE t.company_id <> s.company_id"
        ).fetchone()[0]
        for table in tables
    }


def test_it_fails_the_run_when_a_figure_could_not_be_measured(capsys):
    """A figure that failed is a row in the table and exit status 1 at the end, never a run
    that looks green (targets themselves are printed, not asserted)."""
    from bench.__main__ import check_measured
    from bench.memory_figures import failed_figure

    measured = _duration([1.0], [1.0])
    check_measured([measured])  # nothing failed: returns
    broken = failed_figure(
        "emails", "emails/s", target=0.7, higher_is_better=True, exc=RuntimeError("no sink")
    )
    with pytest.raises(SystemExit, match=r"1 figure\(s\) could not be measured: emails FAILED"):
        check_measured([measured, broken])
    capsys.readouterr()


def _two_requests_on_one_connection(base: str) -> tuple[str | None, bytes]:
    """The first answer's Connection header, and what a second request on the same socket reads
    (b"" when the server closed it after the first)."""
    import socket
    import urllib.parse

    port = urllib.parse.urlsplit(base).port
    request = b"GET /_bench/ok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")
        sock.sendall(request)
        header = None
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "connection":
                header = value.strip().lower()
        assert reader.read(2) == b"ok"
        try:
            sock.sendall(request)
            second = reader.readline()
        except OSError:  # reset: closed too
            second = b""
        return header, second


def test_it_opens_a_connection_per_request_at_the_origin_so_the_load_spreads_over_workers():
    """Issue 12: the origin figures' gunicorn closes each connection after its answer, so wrk's
    connections cannot stay with whichever worker accepted them first (the "ok" view measured
    one core's worth or two by chance); the production-like gunicorn keeps them alive."""
    from bench import server

    with server.gunicorn(dbname="ekomi_bench_unused", keepalive=False) as base:
        assert _two_requests_on_one_connection(base) == ("close", b"")
    with server.gunicorn(dbname="ekomi_bench_unused") as base:
        header, second = _two_requests_on_one_connection(base)
        assert header != "close"
        assert second.startswith(b"HTTP/1.1 200")
