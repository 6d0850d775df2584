"""Helpers for the L3 tests that run the real web process (TESTPLAN FA-5, LO-1..LO-3).

- ``Gunicorn``: ``gunicorn ekomi.wsgi`` in a subprocess on a free loopback port, the shape of
  docs/operations.md (workers, threads, timeout), stopped with its whole process group;
- ``PrivatePostgres``: a throwaway Postgres cluster (``initdb`` into a temporary directory,
  ``pg_ctl`` on a free port) that a test may restart or kill without touching the shared server;
- ``send``: one request on a fresh connection, never raising (a transport error is status 0);
- ``python_load``: a small closed-loop load generator (the fallback when ``wrk`` is missing).
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
BOOT_TIMEOUT = 40.0  # seconds; a cold gunicorn on a busy 2-core machine
# What a developer's shell or the test run may carry that would point a subprocess elsewhere.
CONFIG_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "TEST_DATABASE_URL",
    "TEST_EMAIL_URL",
    "DJANGO_SETTINGS_MODULE",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "DEBUG",
    "STATIC_ROOT",
    "MEDIA_ROOT",
    "VAR_DIR",
    "API_RATE_LIMIT_PER_MINUTE",
    "CONN_MAX_AGE",
    "TEST_DB_SUFFIX",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_url(
    *, name: str, host: str, port: int | str, user: str = "postgres", password: str = ""
) -> str:
    """A DATABASE_URL with persistent, health-checked connections, as production runs
    (``CONN_MAX_AGE=60``, docs/operations.md); the test settings switch health checks on."""
    credentials = quote(user, safe="")
    if password:
        credentials += ":" + quote(password, safe="")
    return f"postgres://{credentials}@{host}:{port}/{name}?conn_max_age=60"


def app_env(*, database_url: str, redis_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a web or management subprocess: the test settings on
    ``database_url`` and ``redis_url``, and nothing from a developer's shell or ``.env``."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(
        DJANGO_SETTINGS_MODULE="ekomi.settings.test",
        DJANGO_READ_DOT_ENV_FILE="false",
        TEST_DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        VAR_DIR=str(var_dir),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


# --- HTTP ----------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int  # 0: no HTTP answer at all (refused, reset, timed out)
    headers: dict[str, str]  # lower-case names; repeated headers joined with "\n"
    body: bytes
    started: float
    finished: float

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def send(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15.0,
) -> Answer:
    """One request on a connection of its own (``Connection: close``): no keep-alive race can
    turn a server-side idle close into a false error."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            method, path, body=body, headers={"Connection": "close", **(headers or {})}
        )
        response = connection.getresponse()
        data = response.read()
        found: dict[str, str] = {}
        for name, value in response.getheaders():
            name = name.lower()
            found[name] = f"{found[name]}\n{value}" if name in found else value
        return Answer(response.status, found, data, started, time.monotonic())
    except (OSError, http.client.HTTPException) as exc:
        return Answer(0, {}, repr(exc).encode(), started, time.monotonic())
    finally:
        connection.close()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --- gunicorn ------------------------------------------------------------------------------------


@dataclass
class Gunicorn:
    process: subprocess.Popen
    port: int
    log: Path

    @classmethod
    def start(
        cls, env: dict[str, str], log: Path, *, workers: int = 2, threads: int = 4
    ) -> Gunicorn:
        """``gunicorn ekomi.wsgi`` as docs/operations.md runs it; returns once /healthz is 200."""
        port = free_port()
        command = [
            str(VENV_BIN / "gunicorn"),
            "ekomi.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
            "--worker-tmp-dir",
            "/dev/shm",  # noqa: S108 (gunicorn's heartbeat files, as docs/operations.md runs it)
            "--no-control-socket",
        ]
        with log.open("w") as output:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        server = cls(process, port, log)
        try:
            server.wait_healthy(BOOT_TIMEOUT)
        except BaseException:
            server.stop()
            raise
        return server

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"gunicorn exited ({self.process.returncode}):\n{self.output()}"
                )
            if send(self.port, "GET", "/healthz", timeout=5).status == 200:
                return
            time.sleep(0.2)
        raise AssertionError(f"gunicorn not healthy within {timeout}s:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # any worker left behind
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


# --- A private Postgres cluster ------------------------------------------------------------------


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]  # the newest installed major version
    on_path = shutil.which(name)
    assert on_path, f"no Postgres {name} binary (install the postgresql server package)"
    return on_path


class PrivatePostgres:
    """A Postgres cluster only this test uses, so it may be restarted under load (FA-5).

    The server refuses to run as root, so as root the cluster belongs to the ``postgres`` OS
    user (``runuser``); as anyone else, to that user. Trust authentication, loopback only.
    """

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="ekomi-private-pg-"))
        self.data = self.base / "data"
        self.logfile = self.base / "postgres.log"
        self.port = free_port()
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, user="postgres", group="postgres")
            self._as_postgres = ["runuser", "-u", "postgres", "--"]

    def _run(self, name: str, *args: str, timeout: float = 60) -> None:
        command = [*self._as_postgres, _postgres_bin(name), *args]
        # Output to a file, never a pipe: the postmaster would inherit it and keep it open.
        with (self.base / "commands.log").open("a") as output:
            done = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                cwd=self.base,
            )
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{self.diagnostics()}"

    def diagnostics(self) -> str:
        parts = []
        for path in (self.base / "commands.log", self.logfile):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def start(self) -> PrivatePostgres:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        options = f"-p {self.port} -k {self.base} -h 127.0.0.1 -F -c full_page_writes=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.logfile), "-w", "start"
        )
        return self

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is terminated; waits until it is up."""
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-m", "fast", "-w", "restart"
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self._run(
                    "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=30
                )
        shutil.rmtree(self.base, ignore_errors=True)

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def create_database(self, name: str) -> str:
        with self.connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return postgres_url(name=name, host="127.0.0.1", port=self.port)

    def scalar(self, dbname: str, sql: str, params: tuple = ()) -> object:
        with self.connect(dbname) as connection:
            return connection.execute(sql, params).fetchone()[0]


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


# --- Load ----------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # the first few, for the failure message
    problem_count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def record(self, answer: Answer, problem: str) -> None:
        with self.lock:
            self.latencies.append(answer.seconds)
            self.statuses[answer.status] = self.statuses.get(answer.status, 0) + 1
            if problem:
                self.problem_count += 1
                if len(self.problems) < 10:
                    self.problems.append(problem)


def python_load(
    port: int,
    paths: list[str],
    *,
    connections: int,
    seconds: float,
    check: Callable[[str, Answer], str],
) -> LoadResult:
    """``connections`` closed-loop clients GET ``paths`` in turn for ``seconds``; ``check``
    returns "" for a good answer, else what was wrong."""
    result = LoadResult()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        index = offset
        while time.monotonic() < deadline:
            path = paths[index % len(paths)]
            index += 1
            answer = send(port, "GET", path)
            result.record(answer, check(path, answer))

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    return result
