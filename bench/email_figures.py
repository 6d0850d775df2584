"""Invitation emails into an SMTP sink through a real Celery worker, vs a plain smtplib loop.

The figure: N due invitations are seeded, the product's sweep (``invitations_send_due``) claims
them and queues one ``send_invitation_emails`` task per batch of ``SEND_BATCH_SIZE`` ids on a
Redis database of the figure's own, and a ``celery worker`` subprocess (production settings,
``--concurrency 4`` as in docker-compose.yml) renders and sends them to an aiosmtpd sink on
127.0.0.1. Timed from the sweep until the sink holds N messages with N distinct Message-IDs:
emails/s.

The baseline, in the same run: one ``smtplib.SMTP`` connection in a subprocess sending N copies
of a message the product rendered for one of those invitations (same size, same headers) to the
same sink. The worker sends each batch over one SMTP connection too, but renders every email,
claims and stamps its send record in Postgres and talks to the broker; the baseline does none of
that, so it is the ceiling of this sink on this machine.

A figure that fails is a FAILED row (``memory_figures.FailedFigure``), not a missing one.

The seeded dataset already holds due invitations (1 in 10 is ``scheduled``). So that the sweep
claims exactly the figure's rows without touching the seed, the figure's invitations are due
1,000 days ago and valid for 1,000 more days, and the sweep is run for "900 days ago": every
seeded invitation is then not yet due, and sent invitations' reminders are not due either.

The worker's processes are sampled for RSS meanwhile (``memory_figures.RssSampler``); each size
runs on a freshly started worker, so the peaks at two sizes can be compared (flat or growing):
100,000 emails against 50,000 at the default scale, 4,000 against the rate runs' 2,000 small.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import redis
from aiosmtpd.controller import Controller

from bench import memory_figures
from bench.db import conninfo
from bench.stats import Figure

ROOT = Path(__file__).resolve().parent.parent
# --small runs once in CI. 2,000 is 20 batches of SEND_BATCH_SIZE: every pool process has several.
# At 200 (two batches) two of the four processes stood idle and the figure measured mostly the
# first batch's start, not sending.
EMAILS_SMALL = 2_000
EMAILS_DEFAULT = 10_000
# The worker's memory "while sending 100,000 emails" (issue 12) at the default scale, against half
# as many, each size on a fresh worker; --small compares the rate figure's runs with twice as many.
RSS_EMAILS_SMALL = (EMAILS_SMALL, 2 * EMAILS_SMALL)
RSS_EMAILS_DEFAULT = (50_000, 100_000)
WORKER_CONCURRENCY = 4  # docker-compose.yml and Procfile.dev run the worker with -c 4
BOOT_TIMEOUT = 60.0
TARGET = 0.7
SWEEP_AGO = datetime.timedelta(days=900)  # see the module docstring
DUE_AGO = datetime.timedelta(days=1000)
VALID_FOR = datetime.timedelta(days=1000)
OWNER_KEY = "ekomi:live-stack:owner"  # the same marker tests/live uses to claim a Redis database
_READY = re.compile(r"\S+@\S+ ready\.")
# Python's email generator folds a long Message-ID onto a continuation line.
_MESSAGE_ID = re.compile(
    rb"^Message-ID:[ \t]*(?:\r?\n[ \t]+)?(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE
)
# What the harness's environment may carry that would point the worker somewhere else.
_CONFIG_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "TEST_DATABASE_URL",
    "TEST_EMAIL_URL",
    "DJANGO_SETTINGS_MODULE",
    "CELERY_BROKER_URL",
    "BENCH_CACHE",
)


# --- The SMTP sink ------------------------------------------------------------------------------


class CountingHandler:
    """Accepts every message and keeps only counts: messages, distinct Message-IDs, bytes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.count = 0
            self.size = 0
            self._ids: set[bytes] = set()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        """Offers PIPELINING (RFC 2920) as production relays do: aiosmtpd answers pipelined
        commands in order, as the extension asks, but does not offer it itself."""
        session.host_name = hostname  # the hook's duty once it exists (aiosmtpd's docs)
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        raw = envelope.original_content or b""
        headers = raw.split(b"\r\n\r\n", 1)[0]
        match = _MESSAGE_ID.search(headers)
        with self._lock:
            self.count += 1
            self.size += len(raw)
            if match:
                self._ids.add(match.group(1))
        return "250 Message accepted for delivery"

    def counts(self) -> tuple[int, int]:
        """(messages received, distinct Message-IDs among them)."""
        with self._lock:
            return self.count, len(self._ids)

    def wait_for(
        self, count: int, *, timeout: float, alive: Callable[[], bool] = lambda: True
    ) -> float:
        """Polls until ``count`` messages arrived; answers the ``perf_counter`` when seen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.counts()[0] >= count:
                return time.perf_counter()
            if not alive():
                break
            time.sleep(0.01)
        raise TimeoutError(f"the sink got {self.counts()[0]} of {count} messages")


class _Controller(Controller):
    """aiosmtpd on a port the kernel picks (the pattern of tests/live/sink.py)."""

    def __init__(self, handler: CountingHandler) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        super().__init__(
            handler, hostname="127.0.0.1", port=self._socket.getsockname()[1], ready_timeout=10
        )

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._socket)


@contextlib.contextmanager
def smtp_sink() -> Iterator[tuple[CountingHandler, int]]:
    handler = CountingHandler()
    controller = _Controller(handler)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


# --- Redis database and publisher ---------------------------------------------------------------


def _bench_redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")


@contextlib.contextmanager
def own_redis_database() -> Iterator[tuple[str, redis.Redis]]:
    """An empty Redis database claimed with the live stack's NX marker; emptied at the end."""
    parts = urlsplit(_bench_redis_url())
    base, bench_db = f"{parts.scheme}://{parts.netloc}", parts.path.strip("/") or "0"
    token = uuid.uuid4().hex
    for number in range(15, 1, -1):
        if str(number) == bench_db:
            continue
        client = redis.Redis.from_url(f"{base}/{number}", socket_timeout=5)
        if client.dbsize() == 0 and client.set(OWNER_KEY, token, nx=True, ex=3600):
            break
    else:
        raise RuntimeError("no empty Redis database (2-15) for the email figure's worker")
    try:
        yield f"{base}/{number}", client
    finally:
        if client.get(OWNER_KEY) == token.encode():
            client.flushdb()


@contextlib.contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """This process's Celery publisher on ``url`` for a while (as tests/live/broker.py does)."""
    from ekomi.celery import app

    def switch(to: str) -> None:
        app.conf.broker_url = to
        app._pool = None  # kombu keeps pools per URL; forget the old one
        app.amqp._producer_pool = None

    previous = app.conf.broker_url
    switch(url)
    try:
        yield
    finally:
        switch(previous)


# --- The worker ---------------------------------------------------------------------------------


@dataclass
class Worker:
    process: subprocess.Popen
    tail: deque = field(default_factory=lambda: deque(maxlen=200))
    ready: threading.Event = field(default_factory=threading.Event)

    def read_output(self) -> None:
        for line in self.process.stdout:
            self.tail.append(line)
            if not self.ready.is_set() and _READY.search(line):
                self.ready.set()

    def alive(self) -> bool:
        return self.process.poll() is None

    def pids(self) -> list[int]:
        """The main process and its prefork pool children."""
        pids = [self.process.pid]
        for path in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pids += [int(pid) for pid in path.read_text().split()]
        return pids

    def output(self) -> str:
        return "".join(self.tail)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL of the whole process group."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def database_url(dbname: str) -> str:
    host = os.environ.get("BENCH_PGHOST", "127.0.0.1")
    port = os.environ.get("BENCH_PGPORT", "5432")
    user = os.environ.get("BENCH_PGUSER", "postgres")
    return f"postgres://{user}@{host}:{port}/{dbname}"


def worker_env(*, dbname: str, redis_url: str, smtp_port: int) -> dict[str, str]:
    """The production settings, on the bench database, the figure's Redis and the sink."""
    env = {k: v for k, v in os.environ.items() if k not in _CONFIG_VARS}
    env.update(
        DJANGO_SETTINGS_MODULE="ekomi.settings.production",
        DJANGO_READ_DOT_ENV_FILE="false",
        SECRET_KEY="bench-secret-key-not-for-production",  # noqa: S106 (bench.settings' own)
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url(dbname),
        REDIS_URL=redis_url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_worker(
    *, dbname: str, redis_url: str, smtp_port: int, concurrency: int = WORKER_CONCURRENCY
) -> Worker:
    command = [
        sys.executable, "-m", "celery", "-A", "ekomi", "worker",
        "-c", str(concurrency), "--queues", "default", "-P", "prefork",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel", "INFO", "-n", f"bench-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=worker_env(dbname=dbname, redis_url=redis_url, smtp_port=smtp_port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, stopped as a whole
    )
    worker = Worker(process)
    threading.Thread(target=worker.read_output, daemon=True).start()
    deadline = time.monotonic() + BOOT_TIMEOUT
    while not worker.ready.wait(0.1):
        if not worker.alive() or time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError(f"the Celery worker did not start:\n{worker.output()}")
    return worker


# --- Due invitations ----------------------------------------------------------------------------

_DUE_ORDERS_SQL = """
INSERT INTO invitations_order
    (company_id, shop_id, order_id, ordered_at, locale, consent, created_at, updated_at)
SELECT s.company_id, s.id, %(tag)s || '-' || i, %(ordered)s, 'de', true, %(now)s, %(now)s
FROM generate_series(1, %(n)s) AS i
JOIN companies_shop s ON s.id = 1 + (i - 1) %% %(shops)s
"""
_DUE_INVITATIONS_SQL = """
INSERT INTO invitations_invitation
    (company_id, shop_id, order_id, public_id, token_nonce, token_hash, email, first_name,
     last_name, status, suppression_reason, due_at, reminders_sent, send_attempts, last_error,
     expires_at, created_at, updated_at)
SELECT o.company_id, o.shop_id, o.id, md5('inv' || o.order_id)::uuid, md5('nonce' || o.order_id),
       md5('a' || o.order_id) || md5('b' || o.order_id), 'buyer-' || o.order_id || '@example.com',
       'Kim', 'Buyer', 'scheduled', '', %(due)s, 0, 0, '', %(expires)s, %(now)s, %(now)s
FROM invitations_order o WHERE o.created_at = %(now)s AND o.order_id LIKE %(like)s
"""


def seed_due_invitations(*, dbname: str, tag: str, n: int, shops: int) -> None:
    """``n`` invitations due long ago, spread over every shop like real traffic."""
    now = datetime.datetime.now(tz=datetime.UTC)
    params = {
        "tag": tag,
        "n": n,
        "shops": shops,
        "now": now,
        "ordered": now - DUE_AGO - datetime.timedelta(days=7),
        "due": now - DUE_AGO,
        "expires": now + VALID_FOR,
        "like": f"{tag}-%",
    }
    with psycopg.connect(conninfo(dbname)) as conn:
        conn.execute(_DUE_ORDERS_SQL, params)
        conn.execute(_DUE_INVITATIONS_SQL, params)


def _sent(dbname: str, tag: str) -> int:
    with psycopg.connect(conninfo(dbname)) as conn:
        return conn.execute(
            "SELECT count(*) FROM invitations_invitation i JOIN invitations_order o "
            "ON o.id = i.order_id WHERE o.order_id LIKE %s AND i.status = 'sent'",
            (f"{tag}-%",),
        ).fetchone()[0]


def sweep(n: int) -> int:
    """The product's sweep, "900 days ago", until it claims nothing more; answers the claims."""
    from django.utils import timezone

    from invitations.sending import invitations_send_due

    when = timezone.now() - SWEEP_AGO
    claimed = 0
    while claimed < n:
        got = invitations_send_due(now=when)
        if not got:
            break
        claimed += got
    return claimed


# --- One measurement ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    n: int
    seconds: float
    idle_rss_mb: float
    peak_rss_mb: float  # sum over the worker's processes
    peak_process_mb: float  # the largest single process

    @property
    def rate(self) -> float:
        return self.n / self.seconds


def send_through_worker(
    *, dbname: str, shops: int, n: int, sink: CountingHandler, port: int, redis_url: str
) -> SendResult:
    tag = f"mail{secrets.token_hex(3)}"
    seed_due_invitations(dbname=dbname, tag=tag, n=n, shops=shops)
    sink.reset()
    worker = start_worker(dbname=dbname, redis_url=redis_url, smtp_port=port)
    sampler = memory_figures.RssSampler(worker.pids)
    try:
        sampler.start()
        time.sleep(0.5)  # a few idle samples: the booted worker before any task
        idle = sampler.peak_total_mb
        with publishing_to(redis_url):
            started = time.perf_counter()
            claimed = sweep(n)
            if claimed != n:
                raise RuntimeError(f"the sweep claimed {claimed} invitations, not {n}")
            try:
                done = sink.wait_for(n, timeout=max(120.0, n / 5), alive=worker.alive)
            except TimeoutError as exc:
                raise RuntimeError(f"{exc}; the worker said:\n{worker.output()}") from None
        # The stamps follow the 250 by milliseconds; a clean stop leaves no row "sending".
        deadline = time.monotonic() + 60
        while _sent(dbname, tag) < n and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        sampler.stop()
        worker.stop()
    count, distinct = sink.counts()
    if (count, distinct) != (n, n):
        raise RuntimeError(f"the sink got {count} messages with {distinct} Message-IDs, not {n}")
    return SendResult(
        n=n,
        seconds=done - started,
        idle_rss_mb=idle,
        peak_rss_mb=sampler.peak_total_mb,
        peak_process_mb=sampler.peak_process_mb,
    )


_BASELINE_SCRIPT = """
import smtplib, sys, time
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
template = open(path, "rb").read()
started = time.perf_counter()
with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
    for i in range(n):
        data = template.replace(b"@@N@@", str(i).encode())
        smtp.sendmail("reviews@localhost", ["buyer%d@example.com" % i], data)
print(time.perf_counter() - started)
"""


def rendered_message(dbname: str, shops: int) -> bytes:
    """The bytes the product renders for a due invitation, its Message-ID made a template."""
    from invitations.emails import invitation_message
    from invitations.models import Invitation

    tag = f"tmpl{secrets.token_hex(3)}"
    seed_due_invitations(dbname=dbname, tag=tag, n=1, shops=shops)
    invitation = (
        Invitation.objects.unscoped()
        .select_related("shop", "order")
        .get(order__order_id=f"{tag}-1")
    )
    raw = invitation_message(invitation, kind="invitation").message().as_bytes(linesep="\r\n")
    with psycopg.connect(conninfo(dbname)) as conn:  # out of every later sweep's way
        conn.execute("DELETE FROM invitations_invitation WHERE id = %s", (invitation.pk,))
        conn.execute("DELETE FROM invitations_order WHERE id = %s", (invitation.order_id,))
    template = _MESSAGE_ID.sub(b"Message-ID: <bench-@@N@@@localhost>", raw, count=1)
    if b"@@N@@" not in template:
        raise RuntimeError("the rendered message has no Message-ID header to make distinct")
    return template


def send_with_smtplib(*, n: int, sink: CountingHandler, port: int, message: bytes) -> float:
    """The baseline: emails/s of one reused smtplib connection, in a process of its own."""
    sink.reset()
    with _temporary_file(message) as path:
        out = subprocess.run(
            [sys.executable, "-c", _BASELINE_SCRIPT, str(port), str(n), str(path)],
            check=True, capture_output=True, text=True, timeout=max(120.0, n / 10),
        )  # fmt: skip
    sink.wait_for(n, timeout=10)
    count, distinct = sink.counts()
    if (count, distinct) != (n, n):
        raise RuntimeError(f"the sink got {count} messages with {distinct} Message-IDs, not {n}")
    return n / float(out.stdout.strip())


@contextlib.contextmanager
def _temporary_file(data: bytes) -> Iterator[Path]:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".eml") as handle:
        handle.write(data)
        handle.flush()
        yield Path(handle.name)


# --- The figures --------------------------------------------------------------------------------


def email_and_memory_figures(plan, *, small: bool) -> list[Figure]:
    """The runner's one entry: emails/s vs the smtplib baseline, the worker's peak RSS at N and
    2N emails, and the CSV import's peak RSS at two sizes (``memory_figures``)."""
    return figures(plan, small=small) + memory_figures.figures(plan, small=small)


def rate_name(n: int) -> str:
    return f"invitation emails via Celery -c {WORKER_CONCURRENCY} into SMTP ({n:,})"


def rss_name(sizes: tuple[int, int]) -> str:
    return f"worker RSS sending {sizes[1]:,} vs {sizes[0]:,} emails"


def figures(plan, *, small: bool) -> list[Figure]:
    """Emails/s vs the smtplib baseline, and the worker's peak RSS at two numbers of emails."""
    n = EMAILS_SMALL if small else EMAILS_DEFAULT
    rss_sizes = RSS_EMAILS_SMALL if small else RSS_EMAILS_DEFAULT
    try:
        return _figures(plan, n, rss_sizes)
    except Exception as exc:  # a failed figure must not cost the run the others' table
        return [
            memory_figures.failed_figure(
                rate_name(n), "emails/s", target=TARGET, higher_is_better=True, exc=exc
            ),
            memory_figures.FailedFigure(
                name=f"{rss_name(rss_sizes)} FAILED (see above)",
                unit="MB",
                samples=[],
                baseline_samples=[],
                target=1 + memory_figures.FLAT_BELOW,
                higher_is_better=False,
                note="measured with the email figure, which failed",
                error="the email figure failed",
            ),
        ]


def _figures(plan, n: int, rss_sizes: tuple[int, int]) -> list[Figure]:
    from invitations.sending import SEND_BATCH_SIZE

    worker_runs: list[SendResult] = []
    baseline: list[float] = []
    runs = max(1, min(plan.runs, 2))  # each run boots a worker
    with smtp_sink() as (sink, port), own_redis_database() as (redis_url, _client):
        message = rendered_message(plan.dbname, plan.shops)
        common = {"dbname": plan.dbname, "shops": plan.shops, "sink": sink, "port": port,
                  "redis_url": redis_url}  # fmt: skip
        at_small: list[SendResult] = []
        at_large: list[SendResult] = []
        for _run in range(runs):
            baseline.append(send_with_smtplib(n=n, sink=sink, port=port, message=message))
            worker_runs.append(send_through_worker(n=n, **common))
            if rss_sizes[0] == n:  # the rate's run is the memory figure's smaller size
                at_small.append(worker_runs[-1])
                at_large.append(send_through_worker(n=rss_sizes[1], **common))
        if not at_small:  # 50,000 and 100,000 emails take minutes each: one worker per size
            at_small.append(send_through_worker(n=rss_sizes[0], **common))
            at_large.append(send_through_worker(n=rss_sizes[1], **common))
    rate = Figure(
        name=rate_name(n),
        unit="emails/s",
        samples=[r.rate for r in worker_runs],
        baseline_samples=baseline,
        target=TARGET,
        higher_is_better=True,
        note="sweep + real celery worker (production settings) + aiosmtpd sink on 127.0.0.1; "
        "baseline: one reused smtplib connection sending the same rendered message",
        extra={
            "emails": n,
            "send_batch_size": SEND_BATCH_SIZE,
            "rss_emails": list(rss_sizes),
            "rate_at_rss_sizes": [r.rate for r in at_small + at_large],
            "message_bytes": len(message),
        },
    )
    rss = memory_figures.rss_figure(
        name=rss_name(rss_sizes),
        small=[r.peak_rss_mb for r in at_small],
        large=[r.peak_rss_mb for r in at_large],
        note=f"peak VmRSS summed over the worker's main and {WORKER_CONCURRENCY} pool processes, "
        "a fresh worker per size",
        extra={
            "emails": list(rss_sizes),
            "idle_mb": [r.idle_rss_mb for r in at_small + at_large],
            "peak_process_mb_small": [r.peak_process_mb for r in at_small],
            "peak_process_mb_large": [r.peak_process_mb for r in at_large],
        },
    )
    return [rate, rss]
