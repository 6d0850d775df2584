"""Gunicorn on 127.0.0.1 for the HTTP figures, started and stopped by the harness."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url, proc: subprocess.Popen, deadline: float, *, name: str, why=lambda: ""):
    """Until ``url`` answers 200; ``proc`` exiting first is an error (``why()`` adds its logs)."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}{why()}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url, timeout=2) as response,  # noqa: S310 (a loopback http URL)  # nosec B310
        ):
            if response.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer within the deadline")


@contextlib.contextmanager
def gunicorn(*, dbname: str, cache: str = "cold", keepalive: bool = True):
    """Yields the base URL of a gunicorn serving ``bench.urls`` on the bench database.

    ``cache="cold"`` swaps the cache for ``DummyCache``; anything else keeps the Redis cache of
    production, under a key prefix of its own so nothing is left over from an earlier run.

    ``keepalive=False`` answers every request with ``Connection: close``, so each request is
    accepted afresh by whichever worker is free. With kept-alive connections, a load that opens
    all of its connections at once (wrk) finds most of them accepted by the worker that woke
    first and keeps them there for the whole run: the "ok" view measured ~1,500 or ~3,700
    requests/s from one run to the next, by chance, one core's worth or two.

    Workers and threads as the production image runs them (Dockerfile, docker-compose.yml); the
    timeout is raised from 30 s so a slow 10,000-order POST is measured rather than killed.
    """
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_DATABASE_NAME": dbname,
        "BENCH_CACHE": cache,
        "BENCH_CACHE_PREFIX": f"bench-{secrets.token_hex(4)}",
    }
    cmd = [
        sys.executable, "-m", "gunicorn", "ekomi.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", "3", "--threads", "2",
        "--timeout", "600", "--no-control-socket",
        "--log-level", "warning",
    ]  # fmt: skip
    if not keepalive:
        cmd += ["--keep-alive", "0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/_bench/ok", proc, time.monotonic() + 60, name="gunicorn")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
