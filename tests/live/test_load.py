"""LO-1..LO-3, the short CI form of TESTPLAN §5.6: real gunicorn on this test database.

The numbers are relative (a 2-core machine shares its CPU with the load generator): the tests
fail on correctness (unexpected statuses, lost or doubled orders, a tenant's bytes in another
tenant's answer, a cookie on a public surface, a noisy tenant breaking a quiet one) and print
the latencies (p95, p99) for the record instead of asserting them.
"""

from __future__ import annotations

import datetime
import json
import random
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection

from companies.services import api_key_create
from invitations.models import Invitation, Order
from tests import factories
from tests.live.stack import (
    Answer,
    Gunicorn,
    app_env,
    percentile,
    postgres_url,
    python_load,
    send,
)
from tests.seals.conftest import make_reviews

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

URL = "/api/v1/orders"
ORDER_DATE = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)).isoformat()


def _test_database_url() -> str:
    db = connection.settings_dict
    return postgres_url(
        name=db["NAME"],
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"] or "postgres",
        password=db.get("PASSWORD") or "",
    )


@pytest.fixture(scope="module")
def web_env(django_db_setup, live_redis, tmp_path_factory) -> dict[str, str]:
    """The web's environment: this test database, the stack's own Redis database."""
    return app_env(
        database_url=_test_database_url(),
        redis_url=live_redis[0],
        var_dir=tmp_path_factory.mktemp("var"),
        API_RATE_LIMIT_PER_MINUTE="100000",  # LO-1 and LO-2 are not about the rate limit
    )


@pytest.fixture(scope="module")
def web(web_env, tmp_path_factory) -> Iterator[Gunicorn]:
    server = Gunicorn.start(web_env, tmp_path_factory.mktemp("web") / "gunicorn.log")
    try:
        yield server
    finally:
        server.stop()


def _shop_with_key(name: str, slug: str):
    shop = factories.ShopFactory(company=factories.CompanyFactory(name=name), name=name, slug=slug)
    return shop, api_key_create(shop=shop, name="load")[1]


def _order(order_id: str, product: int = 0) -> dict:
    return {
        "order_id": order_id,
        "email": "kim@example.net",
        "first_name": "Kim",
        "order_date": ORDER_DATE,
        "items": [{"product_id": f"P-{product}", "name": f"Product {product}"}],
    }


def _post(port: int, api_key: str, body: bytes, key: str) -> Answer:
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    return send(port, "POST", URL, body=body, headers=headers)


def _json(answer: Answer):
    try:
        return json.loads(answer.body)
    except ValueError:
        return None


# --- LO-1 -----------------------------------------------------------------------------------------

LO1_USERS = 4
LO1_SECONDS = 20.0
LO1_BATCH = 50


class IngestLoad:
    """LO-1's users: each request a single order (80 %) or a batch of 50, with a fresh
    Idempotency-Key; 1 % of order ids repeat one already stored; 5 % of requests are sent twice."""

    def __init__(self, port: int, api_key: str, run: str) -> None:
        self.port, self.api_key, self.run = port, api_key, run
        self.lock = threading.Lock()
        self.confirmed: list[str] = []  # order ids a 2xx answer has stored
        self.sent: set[str] = set()
        self.problems: list[str] = []
        self.latencies: dict[str, list[float]] = {"single": [], "batch": [], "retry": []}
        self.counts = {"requests": 0, "retries": 0, "duplicates": 0, "planned": 0}

    def run_users(self, users: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        threads = [
            threading.Thread(target=self.user, args=(n, deadline), daemon=True)
            for n in range(users)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 60)
        assert not any(t.is_alive() for t in threads)

    def order_ids(self, rng: random.Random, number: int, size: int) -> tuple[list[str], set[str]]:
        ids: list[str] = []
        duplicates: set[str] = set()
        for _ in range(size):
            with self.lock:
                earlier = rng.sample(self.confirmed, min(3, len(self.confirmed)))
            earlier = [i for i in earlier if i not in ids]
            if earlier and rng.random() < 0.01:
                ids.append(earlier[0])
                duplicates.add(earlier[0])
            else:
                ids.append(f"lo1-{self.run}-{number}-{uuid.uuid4().hex[:12]}")
        return ids, duplicates

    def user(self, number: int, deadline: float) -> None:
        rng = random.Random(f"{self.run}-{number}")
        sent = 0
        while time.monotonic() < deadline:
            sent += 1
            size = LO1_BATCH if rng.random() < 0.2 else 1
            ids, duplicates = self.order_ids(rng, number, size)
            orders = [_order(i, product=rng.randrange(20)) for i in ids]
            body = json.dumps(orders[0] if size == 1 else orders).encode()
            key = uuid.uuid4().hex
            with self.lock:
                self.sent.update(ids)
                self.counts["duplicates"] += len(duplicates)
            answer = _post(self.port, self.api_key, body, key)
            self.count("requests", "single" if size == 1 else "batch", answer)
            if answer.status in (409, 429):  # planned answers a client retries later
                self.count("planned")
                continue
            if not self.check(answer, ids, duplicates):
                continue
            with self.lock:
                self.confirmed.extend(i for i in ids if i not in duplicates)
            if sent % 20 == 3:  # 5 % deliberate retries: the first answer, replayed
                again = _post(self.port, self.api_key, body, key)
                self.count("retries", "retry", again)
                replayed = again.headers.get("idempotent-replayed") == "true"
                if (again.status, _json(again), replayed) != (answer.status, _json(answer), True):
                    self.problem(f"retry answered {again.status} {again.body[:200]!r}")

    def check(self, answer: Answer, ids: list[str], duplicates: set[str]) -> bool:
        """201 when anything was new (200 when all was known), one row per order in order."""
        data = _json(answer)
        wanted = 200 if len(duplicates) == len(ids) else 201
        if answer.status != wanted or not isinstance(data, dict):
            self.problem(f"{answer.status} (wanted {wanted}): {answer.body[:300]!r}")
            return False
        rows = data.get("results", [data])
        got = [(row.get("order_id"), row.get("status")) for row in rows]
        want = [(i, "known" if i in duplicates else "created") for i in ids]
        if got != want:
            self.problem(f"results {got[:3]}... are not {want[:3]}...")
        return True

    def count(self, name: str, kind: str = "", answer: Answer | None = None) -> None:
        with self.lock:
            self.counts[name] += 1
            if answer is not None:
                self.latencies[kind].append(answer.seconds)

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def p95_ms(self, kind: str) -> str:
        return f"{percentile(self.latencies[kind], 95) * 1000:.0f} ms"


def test_it_ingests_orders_with_retries_and_duplicates_without_errors_lo_1(web):
    """LO-1: 4 users for 20 s, 80 % single orders and 20 % batches of 50, each request with an
    Idempotency-Key, 5 % deliberate retries, 1 % duplicate order ids: no unexpected status,
    every retry replays its first answer, and the database holds exactly the unique orders,
    each with one invitation."""
    run = uuid.uuid4().hex[:8]
    shop, api_key = _shop_with_key(f"LO1 {run}", f"lo1-{run}")
    load = IngestLoad(web.port, api_key, run)
    load.run_users(LO1_USERS, LO1_SECONDS)

    orders = Order.objects.for_company(shop.company_id).filter(shop=shop)
    invitations = Invitation.objects.for_company(shop.company_id).filter(shop=shop)
    print(
        f"\nLO-1: {load.counts}, unique orders {len(load.sent)}; p95 single "
        f"{load.p95_ms('single')}, batch of {LO1_BATCH} {load.p95_ms('batch')}, "
        f"retry {load.p95_ms('retry')}"
    )
    problems = load.problems
    assert not problems, f"{len(problems)} unexpected answers:\n" + "\n".join(problems[:10])
    assert load.counts["planned"] == 0, "429/409 although the budget is far above this load"
    assert load.counts["requests"] >= 40 and load.counts["retries"] >= 1
    assert load.counts["duplicates"] >= 1
    assert load.latencies["batch"]
    assert orders.count() == orders.values("order_id").distinct().count() == len(load.sent)
    assert invitations.count() == len(load.sent)


# --- LO-2 -----------------------------------------------------------------------------------------

LO2_SECONDS = 10
LO2_CONNECTIONS = 20
SURFACES = ("", "widget.js", "seal.svg")
WRK_SCRIPT = """
local paths = {PATHS}
local own, other = "OWN", "OTHER"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  seen, non2xx, cookies, foreign, missing, index = 0, 0, 0, 0, 0, 0
end
function request()
  index = index % #paths + 1
  return wrk.format("GET", paths[index])
end
function response(status, headers, body)
  seen = seen + 1
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  for name, _ in pairs(headers) do
    if string.lower(name) == "set-cookie" then cookies = cookies + 1 end
  end
  if not string.find(body, own, 1, true) then missing = missing + 1 end
  if string.find(body, other, 1, true) then foreign = foreign + 1 end
end
function done(summary, latency, requests)
  local total = {seen = 0, non2xx = 0, cookies = 0, foreign = 0, missing = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(total) do total[name] = total[name] + thread:get(name) end
  end
  io.write(string.format("LO2 seen=%d non2xx=%d cookies=%d foreign=%d missing=%d\\n",
    total.seen, total.non2xx, total.cookies, total.foreign, total.missing))
end
"""


def _tenant_problem(answer: Answer, own: str, other: str) -> str:
    if answer.status != 200:
        return f"status {answer.status}: {answer.body[:200]!r}"
    if "set-cookie" in answer.headers:
        return f"Set-Cookie: {answer.headers['set-cookie']}"
    if own.encode() not in answer.body or other.encode() in answer.body:
        return f"body of the wrong tenant (wanted {own!r}): {answer.body[:200]!r}"
    return ""


def _run_wrk(port: int, paths: list[str], own: str, other: str, script_path) -> dict:
    script = (
        WRK_SCRIPT.replace("{PATHS}", "{" + ", ".join(f'"{p}"' for p in paths) + "}")
        .replace('"OWN"', f'"{own}"')
        .replace('"OTHER"', f'"{other}"')
    )
    script_path.write_text(script)
    done = subprocess.run(
        [
            *("wrk", "-t2", f"-c{LO2_CONNECTIONS}", f"-d{LO2_SECONDS}s", "--latency"),
            *("--timeout", "5s", "-s", str(script_path), f"http://127.0.0.1:{port}{paths[0]}"),
        ],
        capture_output=True,
        text=True,
        timeout=LO2_SECONDS + 30,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    totals = re.search(
        r"LO2 seen=(\d+) non2xx=(\d+) cookies=(\d+) foreign=(\d+) missing=(\d+)", output
    )
    assert totals, output
    seen, non2xx, cookies, foreign, missing = map(int, totals.groups())
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    return {
        "tool": "wrk",
        "requests": seen,
        "non2xx": non2xx,
        "cookies": cookies,
        "foreign": foreign,
        "missing": missing,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
        "p99": p99.group(1) if p99 else "?",
        "output": output,
    }


def _run_python_load(port: int, paths: list[str], own: str, other: str) -> dict:
    result = python_load(
        port,
        paths,
        connections=LO2_CONNECTIONS,
        seconds=LO2_SECONDS,
        check=lambda _path, answer: _tenant_problem(answer, own, other),
    )
    return {
        "tool": "python",
        "requests": result.requests,
        "non2xx": sum(n for status, n in result.statuses.items() if not 200 <= status < 300),
        "problems": result.problem_count,
        "socket_errors": result.statuses.get(0, 0),
        "p99": f"{percentile(result.latencies, 99) * 1000:.1f}ms",
        "output": "\n".join(result.problems),
    }


def test_it_serves_each_tenant_its_own_cached_public_surfaces_under_load_lo_2(web, tmp_path):
    """LO-2: wrk -t2 -c20 -d10s --latency (or the Python fallback) on A's certificate page,
    widget.js and seal.svg while a checker reads A's and B's at random: 0 non-2xx, every body
    names its own tenant and never the other, no Set-Cookie; p99 printed."""
    run = uuid.uuid4().hex[:8]
    names = {"a": f"Alpha Load {run}", "b": f"Bravo Load {run}"}
    shops = {}
    for tenant, ratings in (("a", [5, 5, 4]), ("b", [2, 3])):
        shops[tenant] = factories.ShopFactory(
            company=factories.CompanyFactory(name=names[tenant]),
            name=names[tenant],
            slug=f"lo2-{tenant}-{run}",
        )
        make_reviews(shops[tenant], ratings)
    paths = {t: [f"/c/{shop.slug}/{surface}" for surface in SURFACES] for t, shop in shops.items()}
    for tenant, other in (("a", "b"), ("b", "a")):
        for path in paths[tenant]:  # warm the caches; each surface answers for its own tenant
            problem = _tenant_problem(send(web.port, "GET", path), names[tenant], names[other])
            assert not problem, f"{path}: {problem}"

    checker = {"requests": 0, "problems": []}
    stop = threading.Event()

    def check_at_random() -> None:
        rng = random.Random(run)
        while not stop.is_set():
            tenant, other = rng.choice((("a", "b"), ("b", "a")))
            path = rng.choice(paths[tenant])
            problem = _tenant_problem(send(web.port, "GET", path), names[tenant], names[other])
            checker["requests"] += 1
            if problem:
                checker["problems"].append(f"{path}: {problem}")

    thread = threading.Thread(target=check_at_random, daemon=True)
    thread.start()
    try:
        if shutil.which("wrk"):
            load = _run_wrk(web.port, paths["a"], names["a"], names["b"], tmp_path / "lo2.lua")
        else:
            load = _run_python_load(web.port, paths["a"], names["a"], names["b"])
    finally:
        stop.set()
        thread.join(timeout=30)

    print(
        f"\nLO-2 ({load['tool']}): {load['requests']} requests on A, p99 {load['p99']}; "
        f"checker {checker['requests']} requests on A and B"
    )
    assert load["requests"] >= 100, load["output"]
    assert load["non2xx"] == 0 and load["socket_errors"] == 0, load["output"]
    if load["tool"] == "wrk":
        assert (load["cookies"], load["foreign"], load["missing"]) == (0, 0, 0), load["output"]
    else:
        assert load["problems"] == 0, load["output"]
    assert checker["requests"] >= 10
    assert not checker["problems"], "\n".join(checker["problems"][:10])


def test_it_serves_public_surfaces_from_the_front_cache_and_passes_everything_else_lo_2(web):
    """LO-2 through the front docker-compose.yml runs (nginx including
    deploy/nginx/public-cache.conf, on loopback ports as the benchmark runs it): each tenant's
    certificate page, widget and seal come from the cache on the second request and still name
    their own tenant only; a page that sets a cookie is never cached; an order batch of over
    1 MB (nginx refuses bodies above 1 MB unless told) reaches the API and is stored."""
    from bench import front

    run = uuid.uuid4().hex[:8]
    names = {"a": f"Alpha Front {run}", "b": f"Bravo Front {run}"}
    shops = {}
    for tenant, ratings in (("a", [5, 4]), ("b", [2, 3])):
        shops[tenant] = factories.ShopFactory(
            company=factories.CompanyFactory(name=names[tenant]),
            name=names[tenant],
            slug=f"front-{tenant}-{run}",
        )
        make_reviews(shops[tenant], ratings)
    api_key = api_key_create(shop=shops["a"], name="front")[1]
    orders = [_order(f"front-{run}-{i}", product=i % 50) for i in range(6_000)]
    body = json.dumps(orders).encode()
    assert len(body) > 1024 * 1024

    with front.nginx(upstream=f"127.0.0.1:{web.port}") as (base, _prefix):
        port = int(base.rsplit(":", 1)[1])
        for tenant, other in (("a", "b"), ("b", "a")):
            for surface in SURFACES:
                path = f"/c/{shops[tenant].slug}/{surface}"
                verdicts = []
                for _ in range(2):
                    answer = send(port, "GET", path)
                    problem = _tenant_problem(answer, names[tenant], names[other])
                    assert not problem, f"{path}: {problem}"
                    verdicts.append(answer.headers.get("x-cache-status"))
                assert verdicts == ["MISS", "HIT"], f"{path}: {verdicts}"

        logins = [send(port, "GET", "/admin/login/") for _ in range(2)]
        assert [a.status for a in logins] == [200, 200]
        assert all("set-cookie" in a.headers for a in logins)
        assert [a.headers.get("x-cache-status") for a in logins] == ["MISS", "MISS"]

        answer = _post(port, api_key, body, f"front-{run}")
    assert answer.status == 201, answer.body[:300]
    stored = Order.objects.unscoped().filter(shop=shops["a"], order_id__startswith=f"front-{run}-")
    assert stored.count() == len(orders)


# --- LO-3 -----------------------------------------------------------------------------------------

LO3_LIMIT = 60  # requests per key and minute
LO3_SOLO_SECONDS = 5.0
LO3_FLOOD_SECONDS = 15.0
LO3_B_PERIOD = 0.5  # B: 2 requests a second, 44 in all: below its budget in any window
LO3_A_THREADS = 3
LO3_A_PERIOD = 0.1  # A: 30 requests a second, 30 times its budget


def test_it_limits_a_flooding_tenant_and_keeps_serving_the_other_lo_3(web_env, tmp_path):
    """LO-3: A floods the API at 30x its per-key limit (60/min) while B posts orders at 2/s:
    A gets 429 with Retry-After beyond its budget, B gets no error at all (its p95 solo and
    under the flood are printed, not asserted)."""
    run = uuid.uuid4().hex[:8]
    shop_a, key_a = _shop_with_key(f"LO3 A {run}", f"lo3-a-{run}")
    shop_b, key_b = _shop_with_key(f"LO3 B {run}", f"lo3-b-{run}")
    env = {**web_env, "API_RATE_LIMIT_PER_MINUTE": str(LO3_LIMIT)}
    web = Gunicorn.start(env, tmp_path / "gunicorn.log")
    a_answers: list[Answer] = []
    b_answers: dict[str, list[Answer]] = {"solo": [], "flood": []}
    phase = ["solo"]
    auth_b = {"Authorization": f"Bearer {key_b}"}
    try:
        stop_b = threading.Event()
        stop_a = threading.Event()

        def tenant_b() -> None:
            sequence = 0
            next_at = time.monotonic()
            while not stop_b.is_set():
                order_id = f"lo3-b-{run}-{sequence}"
                sequence += 1
                answer = _post(web.port, key_b, json.dumps(_order(order_id)).encode(), order_id)
                b_answers[phase[0]].append(answer)
                next_at += LO3_B_PERIOD
                time.sleep(max(0.0, next_at - time.monotonic()))

        def tenant_a(number: int) -> None:
            sequence = 0
            next_at = time.monotonic()
            while not stop_a.is_set():
                order_id = f"lo3-a-{run}-{number}-{sequence}"
                sequence += 1
                answer = _post(web.port, key_a, json.dumps(_order(order_id)).encode(), order_id)
                a_answers.append(answer)
                next_at += LO3_A_PERIOD
                time.sleep(max(0.0, next_at - time.monotonic()))

        for _ in range(4):  # warm the web's workers up: the solo baseline is not a cold start
            assert send(web.port, "GET", "/api/v1/products", headers=auth_b).status == 200
        b_thread = threading.Thread(target=tenant_b, daemon=True)
        b_thread.start()
        time.sleep(LO3_SOLO_SECONDS)
        phase[0] = "flood"
        a_threads = [
            threading.Thread(target=tenant_a, args=(n,), daemon=True) for n in range(LO3_A_THREADS)
        ]
        for thread in a_threads:
            thread.start()
        time.sleep(LO3_FLOOD_SECONDS)
        stop_a.set()
        stop_b.set()
        for thread in [b_thread, *a_threads]:
            thread.join(timeout=30)
    finally:
        web.stop()

    a_statuses: dict[int, int] = {}
    for answer in a_answers:
        a_statuses[answer.status] = a_statuses.get(answer.status, 0) + 1
    b_all = b_answers["solo"] + b_answers["flood"]
    solo, flood = ([a.seconds for a in b_answers[p]] for p in ("solo", "flood"))
    print(
        f"\nLO-3: A sent {len(a_answers)} in {LO3_FLOOD_SECONDS:.0f}s (limit {LO3_LIMIT}/min): "
        f"{a_statuses}; B p95 solo {percentile(solo, 95) * 1000:.0f} ms, under the flood "
        f"{percentile(flood, 95) * 1000:.0f} ms ({len(b_all)} requests)"
    )
    # A: its budget (twice, if the flood straddles a minute boundary), then 429 with Retry-After.
    assert set(a_statuses) <= {201, 429}, a_statuses
    assert a_statuses.get(429, 0) >= len(a_answers) // 2
    assert 1 <= a_statuses.get(201, 0) <= 2 * LO3_LIMIT
    refused = [a for a in a_answers if a.status == 429]
    assert all(a.headers.get("retry-after") and _json(a) is not None for a in refused)
    # B: every order accepted, none lost.
    b_errors = [f"{a.status} {a.body[:200]!r}" for a in b_all if a.status != 201]
    assert not b_errors, b_errors[:10]
    assert len(b_answers["flood"]) >= LO3_FLOOD_SECONDS / LO3_B_PERIOD / 2
    assert Order.objects.for_company(shop_b.company_id).filter(shop=shop_b).count() == len(b_all)
    assert Order.objects.for_company(shop_a.company_id).filter(
        shop=shop_a
    ).count() == a_statuses.get(201, 0)
