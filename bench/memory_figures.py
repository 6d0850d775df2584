"""Memory figures: peak RSS at two sizes and its growth (the target is flat).

- The Celery worker while it sends invitation emails (sampled by ``email_figures``, N vs 2N).
- The product's CSV import (``invitations.csv_import``), run in a process of its own the way an
  upload goes through it: ``order_import_check`` (the web form's check), ``order_import_create``
  (stores the file; the task it queues is not published) and the task body itself on that job.
  Two sizes (5,000 and 10,000 lines small; 500,000 and 1,000,000 full); the peak is the
  process's ``VmHWM``, cross-checked by sampling ``VmRSS`` from outside.

A figure's "baseline" is the peak at the smaller size, so its ratio is the growth factor:
``≤ 1.2 ×`` passes, and growth under 20 % is printed as "flat".

A figure that cannot be measured (an exception) is not dropped: it becomes a ``FailedFigure``
row, "FAILED (why)" in the table and ``"failed"`` in the JSON (``email_figures`` uses it too).
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.stats import Figure

ROOT = Path(__file__).resolve().parent.parent
FLAT_BELOW = 0.20  # growth under 20 % between the two sizes reads "flat"
CSV_SIZES_SMALL = (5_000, 10_000)
CSV_SIZES_DEFAULT = (500_000, 1_000_000)
CSV_SHOP_ID = 2  # not shop 1, which the ingest figure writes to
CSV_HEADER = "order_id;email;first_name;last_name;order_date;product_id;product_name\n"


# --- Arithmetic ---------------------------------------------------------------------------------


def growth(small: float, large: float) -> float:
    """Relative growth from the smaller size's peak to the larger's (0.05 = +5 %)."""
    if small <= 0:
        raise ValueError("the smaller size's peak must be positive")
    return large / small - 1


def verdict(small: float, large: float) -> str:
    growth(small, large)  # refuses a non-positive smaller peak
    # Compared without dividing, so exactly +20 % is "grows" despite floating point.
    return "flat" if large < small * (1 + FLAT_BELOW) else "grows"


def describe(name: str, small: list[float], large: list[float]) -> str:
    a, b = statistics.median(small), statistics.median(large)
    return f"{name}: peak {a:,.1f} MB -> {b:,.1f} MB, growth {growth(a, b):+.1%} ({verdict(a, b)})"


def rss_figure(
    *, name: str, small: list[float], large: list[float], note: str, extra: dict | None = None
) -> Figure:
    """Peak RSS at the larger size against the smaller one's; prints the flat/grows line."""
    line = describe(name, small, large)
    print(line)
    a, b = statistics.median(small), statistics.median(large)
    return Figure(
        name=f"{name} ({verdict(a, b)})",
        unit="MB",
        samples=large,
        baseline_samples=small,
        target=1 + FLAT_BELOW,
        higher_is_better=False,
        note=f"{note}; baseline: the peak at the smaller size; ratio = growth factor",
        extra={**(extra or {}), "growth": growth(a, b), "verdict": verdict(a, b)},
    )


# --- A figure that failed ------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedFigure(Figure):
    """A figure whose measurement raised: its row says FAILED and why, and it never passes."""

    error: str = ""

    @property
    def passed(self) -> bool:
        return False

    def as_dict(self) -> dict:
        return {**super().as_dict(), "failed": self.error}


def failed_figure(
    name: str, unit: str, *, target: float, higher_is_better: bool, exc: BaseException
) -> FailedFigure:
    """The row of a figure that could not be measured; the traceback goes to stderr."""
    traceback.print_exception(exc)
    first_line = (str(exc).strip().splitlines() or [""])[0]
    error = f"{type(exc).__name__}: {first_line}"[:120]
    print(f"{name}: FAILED ({error})", file=sys.stderr)
    return FailedFigure(
        name=f"{name} FAILED ({error})",
        unit=unit,
        samples=[],
        baseline_samples=[],
        target=target,
        higher_is_better=higher_is_better,
        note="the measurement failed; see the traceback on stderr",
        error=error,
    )


def any_failed(figures: list[Figure]) -> bool:
    """Whether a run must end with a non-zero exit status."""
    return any(isinstance(figure, FailedFigure) for figure in figures)


# --- Reading /proc ------------------------------------------------------------------------------


def status_kb(text: str, key: str) -> int | None:
    """A ``kB`` field of /proc/<pid>/status (``VmRSS``, ``VmHWM``), or None if absent."""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return int(value.split()[0])
    return None


def process_kb(pid: int, key: str = "VmRSS") -> int | None:
    try:
        return status_kb(Path(f"/proc/{pid}/status").read_text(), key)
    except (OSError, ValueError, IndexError):
        return None  # the process ended between listing and reading


class RssSampler:
    """Samples the summed VmRSS of ``pids()`` every ``interval`` s in a thread; keeps peaks."""

    def __init__(self, pids: Callable[[], list[int]], interval: float = 0.1) -> None:
        self._pids = pids
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.peak_total_kb = 0
        self.peak_process_kb = 0
        self.samples = 0

    def sample(self) -> None:
        sizes = [kb for kb in (process_kb(pid) for pid in self._pids()) if kb]
        if sizes:
            self.peak_total_kb = max(self.peak_total_kb, sum(sizes))
            self.peak_process_kb = max(self.peak_process_kb, max(sizes))
            self.samples += 1

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._interval)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    @property
    def peak_total_mb(self) -> float:
        return self.peak_total_kb / 1024

    @property
    def peak_process_mb(self) -> float:
        return self.peak_process_kb / 1024


# --- The CSV import -----------------------------------------------------------------------------


def write_csv(path: Path, *, lines: int, tag: str, products: int = 10) -> None:
    """``lines`` orders, one per line after the header, as a shop's export writes them."""
    ordered = (datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(days=1)).date()
    day = ordered.strftime("%d.%m.%Y")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(CSV_HEADER)
        for i in range(1, lines + 1):
            sku = 1 + i % products
            out.write(f"{tag}-{i};kunde{i}.{tag}@example.com;Kim;Buyer;{day};sku-{sku};"
                      f"Product {sku}\n")  # fmt: skip


def _child(dbname: str, path: str, shop_id: int) -> None:
    """In the measured process: the upload's check and store, then the import task's body."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["BENCH_DATABASE_NAME"] = dbname
    import django

    django.setup()
    from unittest import mock

    from django.core.files import File

    from companies.models import Shop
    from invitations.csv_import import services
    from invitations.models import OrderImport

    rss_ready = process_kb(os.getpid())
    shop = Shop.objects.unscoped().get(pk=shop_id)
    started = time.perf_counter()
    with open(path, "rb") as handle:
        upload = File(handle, name="orders.csv")
        services.order_import_check(uploaded_file=upload)
        with mock.patch.object(services, "order_import_task"):  # publish nothing
            job = services.order_import_create(
                shop=shop, uploaded_file=upload, original_name="orders.csv"
            )
    services.order_import_task(job.pk)  # the task body, in this process
    seconds = time.perf_counter() - started
    job = OrderImport.objects.unscoped().get(pk=job.pk)
    print(json.dumps({
        "rss_ready_kb": rss_ready,
        "hwm_kb": process_kb(os.getpid(), "VmHWM"),
        "seconds": seconds,
        "status": job.status,
        "created": job.orders_created,
        "rejected": job.rows_rejected,
        "error": job.error,
    }))  # fmt: skip


def import_once(*, dbname: str, lines: int, workdir: Path) -> dict:
    tag = f"csv{secrets.token_hex(3)}"
    path = workdir / f"{tag}.csv"
    write_csv(path, lines=lines, tag=tag)
    env = {
        **os.environ,
        "MEDIA_ROOT": str(workdir / "media"),
        "PRIVATE_MEDIA_ROOT": str(workdir / "private"),
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.memory_figures", dbname, str(path), str(CSV_SHOP_ID)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    sampler = RssSampler(lambda: [process.pid]).start()
    try:
        out, err = process.communicate(timeout=max(600.0, lines / 100))
    finally:
        sampler.stop()
        path.unlink(missing_ok=True)
    if process.returncode != 0:
        raise RuntimeError(f"the CSV import process failed:\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    if result["status"] != "done" or result["created"] != lines:
        raise RuntimeError(f"the CSV import of {lines} lines ended as {result}")
    result["sampled_peak_kb"] = sampler.peak_total_kb
    result["peak_mb"] = max(result["hwm_kb"], sampler.peak_total_kb) / 1024
    return result


def csv_import_figure(plan, *, sizes: tuple[int, int], runs: int) -> Figure:
    small, large = [], []
    with tempfile.TemporaryDirectory(prefix="bench-csv-") as tmp:
        for _run in range(runs):
            small.append(import_once(dbname=plan.dbname, lines=sizes[0], workdir=Path(tmp)))
            large.append(import_once(dbname=plan.dbname, lines=sizes[1], workdir=Path(tmp)))
    return rss_figure(
        name=csv_import_name(sizes),
        small=[r["peak_mb"] for r in small],
        large=[r["peak_mb"] for r in large],
        note="peak RSS (VmHWM) of one process doing order_import_check, order_import_create and "
        "the import task's body",
        extra={
            "ready_mb": [r["rss_ready_kb"] / 1024 for r in small + large],
            "seconds_small": [r["seconds"] for r in small],
            "seconds_large": [r["seconds"] for r in large],
            "lines_per_second_large": [sizes[1] / r["seconds"] for r in large],
        },
    )


def csv_import_name(sizes: tuple[int, int]) -> str:
    return f"CSV import RSS {sizes[1]:,} vs {sizes[0]:,} lines"


def figures(plan, *, small: bool) -> list[Figure]:
    """The CSV import's memory figure (the worker's is measured with the email figure)."""
    sizes = CSV_SIZES_SMALL if small else CSV_SIZES_DEFAULT
    try:
        # Peak RSS varies little run to run; two runs of each size keep the figure affordable.
        return [csv_import_figure(plan, sizes=sizes, runs=max(1, min(plan.runs, 2)))]
    except Exception as exc:  # a failed figure must not cost the run the others' table
        return [
            failed_figure(
                csv_import_name(sizes), "MB", target=1 + FLAT_BELOW, higher_is_better=False, exc=exc
            )
        ]


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], int(sys.argv[3]))
