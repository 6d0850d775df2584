"""Certificate page, widget.js and seal.svg through the production front, vs a static file.

The front is docker-compose.yml's: nginx with ``proxy_cache`` before a gunicorn run as in
production (3 workers x 2 threads, the Redis cache warm). ``bench/nginx.conf.template`` places
it on loopback ports and a temporary prefix and includes its location as it is
(``deploy/nginx/public-cache.conf``). The harness starts nginx in the
foreground from a temporary prefix directory on a free 127.0.0.1 port and stops it at the end.
The baseline is a 2 KB static file served by the same nginx. Every path is fetched once before
the runs (the cache is warm, as in production); each run's cache verdicts (HIT, MISS, EXPIRED,
...) are counted from nginx's log. Load comes from ``wrk`` only: a Python client would measure
itself rather than nginx, so without ``wrk`` (or ``nginx``) the figures are skipped and say why.
"""

from __future__ import annotations

import collections
import contextlib
import grp
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import load
from bench.server import _free_port, wait_ready
from bench.stats import Figure

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
# The production front's location, included as it is (docker-compose.yml mounts the same file).
PUBLIC_CACHE = Path(__file__).resolve().parent.parent / "deploy/nginx/public-cache.conf"
STATIC_NAME = "_bench/static-2k.txt"
STATIC_BYTES = 2048
TARGET = 0.5
SURFACES = {
    "certificate page": "/c/{slug}/",
    "widget.js": "/c/{slug}/widget.js",
    "seal.svg": "/c/{slug}/seal.svg",
}


def missing_tools() -> str:
    """Why the front cannot be measured here, or "" when it can."""
    missing = [tool for tool in ("nginx", "wrk") if not shutil.which(tool)]
    if not missing:
        return ""
    return f"{' and '.join(missing)} not installed (apt-get install -y {' '.join(missing)})"


def render_config(*, prefix: Path, port: int, upstream: str) -> str:
    values = {
        "prefix": str(prefix),
        "port": str(port),
        "upstream": upstream,
        "static_name": STATIC_NAME,
        "public_cache": str(PUBLIC_CACHE),
        "user": pwd.getpwuid(os.geteuid()).pw_name,
        "group": grp.getgrgid(os.getegid()).gr_name,
    }
    text = TEMPLATE.read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if re.search(r"\{\{\w+\}\}", text):
        raise ValueError("nginx.conf.template has a field the harness does not fill")
    return text


def prepare_prefix(prefix: Path, *, port: int, upstream: str) -> Path:
    """Config, static file and temp directories under ``prefix``; answers the config path."""
    for sub in ("tmp", "cache", "html/_bench"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "html" / STATIC_NAME).write_bytes(static_body())
    config = prefix / "nginx.conf"
    config.write_text(render_config(prefix=prefix, port=port, upstream=upstream))
    return config


def static_body() -> bytes:
    line = b"The quick brown fox jumps over the lazy dog. 0123456789 abcdefghij\n"
    return (line * (STATIC_BYTES // len(line) + 1))[:STATIC_BYTES]


def _nginx_logs(prefix: Path) -> str:
    logs = [prefix / "stderr.log", prefix / "error.log"]
    return ": " + "".join(log.read_text() for log in logs if log.exists())[-2000:]


@contextlib.contextmanager
def nginx(*, upstream: str):
    """Yields (base URL, prefix dir) of an nginx in front of ``upstream`` ("127.0.0.1:port")."""
    prefix = Path(tempfile.mkdtemp(prefix="ekomi-bench-nginx-"))
    port = _free_port()
    config = prepare_prefix(prefix, port=port, upstream=upstream)
    error_log = prefix / "error.log"
    cmd = [shutil.which("nginx") or "nginx", "-p", f"{prefix}/", "-c", str(config),
           "-e", str(error_log)]  # fmt: skip
    # Early messages go to stderr before the error log is open: kept next to it, never a pipe
    # that nobody reads.
    with (prefix / "stderr.log").open("wb") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(
            f"{base}/{STATIC_NAME}",
            proc,
            time.monotonic() + 30,
            name="nginx",
            why=lambda: _nginx_logs(prefix),
        )
        yield base, prefix
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(prefix, ignore_errors=True)


class AccessLog:
    """Counts the cache verdicts nginx logged since the last call."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def since_last(self) -> dict[str, int]:
        if not self.path.exists():
            return {}
        with self.path.open("rb") as log:
            log.seek(self.offset)
            data = log.read()
        # Only whole lines; a line still being written is counted next time.
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        return cache_counts(complete.decode())


def cache_counts(text: str) -> dict[str, int]:
    return dict(collections.Counter(line.strip() for line in text.splitlines() if line.strip()))


def hit_share(counts: dict[str, int]) -> float | None:
    total = sum(counts.values())
    return counts.get("HIT", 0) / total if total else None


def _surface_paths(template: str, shops: int) -> list[str]:
    return [template.format(slug=f"bench-shop-{i}") for i in range(1, min(shops, 500) + 1)]


def _warm(base: str, paths: list[str], connections: int) -> None:
    def fetch(path: str) -> None:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(base + path, timeout=60) as response,  # noqa: S310 (loopback)  # nosec B310
        ):
            response.read()

    with ThreadPoolExecutor(max_workers=connections) as pool:
        list(pool.map(fetch, paths))


def skipped_figures(reason: str) -> list[Figure]:
    figures = []
    for name in SURFACES:
        figures.append(Figure.skip(f"{name} via nginx: throughput", "req/s", target=TARGET,
                                   higher_is_better=True, reason=reason))  # fmt: skip
        figures.append(Figure.skip(f"{name} via nginx: p99 latency", "ms",
                                   target=round(1 / TARGET, 2), higher_is_better=False,
                                   reason=reason))  # fmt: skip
    return figures


def front_figures(*, origin: str, shops: int, runs: int, seconds: float, connections: int):
    """``origin`` is the gunicorn's base URL; answers the throughput and p99 figures."""
    reason = missing_tools()
    if reason:
        print(f"front figures skipped: {reason}")
        return skipped_figures(reason)
    upstream = origin.removeprefix("http://")
    with nginx(upstream=upstream) as (base, prefix):
        paths = {name: _surface_paths(t, shops) for name, t in SURFACES.items()}
        _warm(base, [p for group in paths.values() for p in group], connections)
        log = AccessLog(prefix / "access.log")
        log.since_last()

        def measure(group: list[str]) -> tuple[load.LoadResult, dict[str, int]]:
            result = load.run(base=base, paths=group, seconds=seconds, connections=connections)
            return result, log.since_last()

        baseline = []
        surfaces: dict[str, list] = {name: [] for name in SURFACES}
        for _run in range(runs):
            baseline.append(measure([f"/{STATIC_NAME}"])[0])
            for name, group in paths.items():
                surfaces[name].append(measure(group))
    figures = []
    for name, measured in surfaces.items():
        figures += _figures(name, measured, baseline)
    return figures


def _figures(name: str, measured, baseline) -> list[Figure]:
    results = [result for result, _ in measured]
    extra = {
        **load.counts(results),
        "cache": [counts for _, counts in measured],
        "hit_share": [hit_share(counts) for _, counts in measured],
    }
    note = (
        "nginx proxy_cache (warm) before gunicorn 3x2 with the Redis cache; "
        "baseline: a 2 KB static file from the same nginx"
    )
    return [
        Figure(
            name=f"{name} via nginx: throughput",
            unit="req/s",
            samples=[r.requests_per_second for r in results],
            baseline_samples=[r.requests_per_second for r in baseline],
            target=TARGET,
            higher_is_better=True,
            note=note,
            extra=extra,
        ),
        Figure(
            name=f"{name} via nginx: p99 latency",
            unit="ms",
            samples=[r.p99_ms for r in results],
            baseline_samples=[r.p99_ms for r in baseline],
            # As for the origin figures: "≥ 0.5 ×" read for a latency is at most 1/0.5 times.
            target=round(1 / TARGET, 2),
            higher_is_better=False,
            note=note,
        ),
    ]
