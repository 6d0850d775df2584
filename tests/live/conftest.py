"""The L2 live stack (TESTPLAN §5, §6): a real Celery worker subprocess, Redis, Postgres and an
aiosmtpd sink, all on 127.0.0.1.

One worker and one sink per test module and xdist worker. The worker reads the database
pytest-django created for this xdist worker, so tests that use it commit their rows
(``transaction=True``). Each stack claims a Redis database of its own (a marker key set with NX),
so parallel xdist workers and other people's concurrent runs never share a queue.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.live.broker import publishing_to
from tests.live.sink import SinkHandler, SmtpSink

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"
BOOT_TIMEOUT = 40.0  # seconds; a cold worker on a busy 2-core machine
READY = re.compile(r"\S+@\S+ ready\.")
OWNER_KEY = "ekomi:live-stack:owner"
# What a developer's shell may carry that would point the worker somewhere else.
CONFIG_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "TEST_DATABASE_URL",
    "TEST_EMAIL_URL",
    "DJANGO_SETTINGS_MODULE",
    "CELERY_BROKER_URL",
)


def _xdist_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker[2:].isdigit() else 0


@dataclass
class LiveWorker:
    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def output(self, since: int = 0) -> str:
        """Everything the worker logged, or what it logged after line number ``since``."""
        return "".join(self.lines[since:])

    def read_output(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for_output(self, pattern: re.Pattern, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pattern.search(self.output()):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"the worker never logged {pattern.pattern!r}:\n{self.output()}")

    def pool_children(self) -> list[int]:
        children: list[int] = []
        for path in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            children += [int(pid) for pid in path.read_text().split()]
        return children

    def kill_pool_child(self) -> None:
        """SIGKILL the process that runs tasks (FA-1); the main process starts a new one."""
        (child,) = self.pool_children()  # -c 1: exactly one
        os.kill(child, signal.SIGKILL)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class LiveStack:
    sink: SinkHandler
    worker: LiveWorker
    redis: redis.Redis

    def wait_until(self, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError(
            f"condition not met in {timeout}s; worker said:\n{self.worker.output()}"
        )

    def is_idle(self) -> bool:
        """Nothing waiting in the queue and nothing taken but unacknowledged (running or an ETA
        retry the worker holds)."""
        return self.redis.llen("default") == 0 and self.redis.hlen("unacked") == 0

    def wait_until_idle(self, timeout: float = 15.0) -> None:
        # Twice, a moment apart: a message is briefly in neither place while the worker takes it.
        self.wait_until(lambda: self.is_idle() and (time.sleep(0.2) or self.is_idle()), timeout)


@pytest.fixture(scope="module")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def live_redis() -> Iterator[tuple[str, redis.Redis]]:
    """A Redis database only this stack uses: marked with NX, emptied, released at the end."""
    parts = urlsplit(settings.REDIS_URL)
    base = f"{parts.scheme}://{parts.netloc}"
    token = uuid.uuid4().hex
    preferred = 2 + _xdist_index()
    for number in [preferred, *(n for n in range(2, 16) if n != preferred)]:
        client = redis.Redis.from_url(f"{base}/{number}", socket_timeout=2)
        if client.set(OWNER_KEY, token, nx=True, ex=900):
            break
    else:
        pytest.fail("no free Redis database (2-15) for the live stack")
    for key in client.scan_iter():
        if key != OWNER_KEY.encode():
            client.delete(key)
    yield f"{base}/{number}", client
    if client.get(OWNER_KEY) == token.encode():
        client.flushdb()


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(smtp_sink: SmtpSink, redis_url: str, **extra_env: str) -> LiveWorker:
    """``celery worker -c 1`` on this test database, ``redis_url`` and the sink, once ready."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(
        DJANGO_SETTINGS_MODULE="ekomi.settings.test",
        DJANGO_READ_DOT_ENV_FILE="false",
        TEST_DATABASE_URL=_database_url(),
        REDIS_URL=redis_url,
        TEST_EMAIL_URL=f"smtp://127.0.0.1:{smtp_sink.port}",
        INVITATION_SEND_RETRY_BASE_SECONDS="0.5",
        PYTHONUNBUFFERED="1",
        **extra_env,
    )
    command = [
        str(CELERY),
        "-A",
        "ekomi",
        "worker",
        "-c",
        "1",
        "--queues",
        "default",
        "-P",
        "prefork",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel",
        "INFO",
        "-n",
        f"live-{uuid.uuid4().hex[:8]}@%h",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, killed as a whole at the end
    )
    worker = LiveWorker(process)
    threading.Thread(target=worker.read_output, daemon=True).start()
    try:
        worker.wait_for_output(READY, BOOT_TIMEOUT)
    except BaseException:
        worker.stop()
        raise
    return worker


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, smtp_sink, live_redis) -> Iterator[LiveWorker]:
    """One worker for the module, on this test database, the stack's Redis and the sink."""
    worker = start_worker(smtp_sink, live_redis[0])
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def live(transactional_db, celery_worker, smtp_sink, live_redis) -> Iterator[LiveStack]:
    """The running stack, with this process publishing to the worker's Redis database. Each
    test starts with an empty sink and ends only when the worker has nothing left to do."""
    redis_url, client = live_redis
    smtp_sink.handler.reset()
    stack = LiveStack(sink=smtp_sink.handler, worker=celery_worker, redis=client)
    with publishing_to(redis_url):
        yield stack
        stack.wait_until_idle()
    smtp_sink.handler.reset()
