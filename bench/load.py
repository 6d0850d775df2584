"""Load generation on loopback, bounded in time: ``wrk`` when installed, else Python threads."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

_LUA = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p99_ms: float
    requests: int
    errors: int


def counts(results: list[LoadResult]) -> dict[str, list[int]]:
    """Each run's requests and errors, as a figure's JSON carries them beside its rates."""
    return {"errors": [r.errors for r in results], "requests": [r.requests for r in results]}


def run(*, base: str, paths: list[str], seconds: float, connections: int = 4) -> LoadResult:
    if shutil.which("wrk"):
        return _wrk(base=base, paths=paths, seconds=seconds, connections=connections)
    return _threads(base=base, paths=paths, seconds=seconds, connections=connections)


def parse_wrk(output: str) -> LoadResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M).groups()
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return LoadResult(rps, float(value) * _UNITS[unit], requests, errors)


def _wrk(*, base: str, paths: list[str], seconds: float, connections: int) -> LoadResult:
    lua = _LUA % ", ".join(f'"{p}"' for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
             "--timeout", "10s", "-s", script.name, base],
            capture_output=True, text=True, timeout=seconds + 60, check=True,
        ).stdout  # fmt: skip
    finally:
        Path(script.name).unlink()
    return parse_wrk(out)


def _threads(*, base: str, paths: list[str], seconds: float, connections: int) -> LoadResult:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(offset: int) -> None:
        i = offset
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(base + paths[i % len(paths)], timeout=10) as resp:  # noqa: S310 (loopback)  # nosec B310
                    resp.read()
                    ok = resp.status < 400
            except OSError:
                ok = False
            with lock:
                latencies.append((time.perf_counter() - started) * 1e3)
                errors[0] += 0 if ok else 1
            i += connections

    threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    return LoadResult(len(latencies) / seconds, p99, len(latencies), errors[0])
