"""Figures of a benchmark run: median, min-max, ratio to a same-run baseline, target, pass/fail.

Absolute numbers mean little on a shared 2-core machine; the ratio to a baseline measured in the
same run is the result (issue 12).
"""

from __future__ import annotations

import datetime
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Figure:
    """One measured figure and its baseline; ``higher_is_better`` says how the ratio reads.

    For a rate (requests/s, orders/s) the ratio is figure / baseline and must be >= target; for
    a duration (seconds) it is figure / baseline and must be <= target. A figure with no target
    (``None``) is a reference measured beside the others to read them by, with no verdict. A
    figure that could not be measured (a missing tool) has no samples and says why in
    ``skipped``.
    """

    name: str
    unit: str
    samples: list[float]
    baseline_samples: list[float]
    target: float | None
    higher_is_better: bool
    note: str = ""
    extra: dict = field(default_factory=dict)
    skipped: str = ""

    @classmethod
    def skip(cls, name: str, unit: str, *, target: float, higher_is_better: bool, reason: str):
        return cls(name, unit, [], [], target, higher_is_better, skipped=reason)

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline_samples) if self.baseline_samples else None

    @property
    def ratio(self) -> float | None:
        if self.median is None or not self.baseline_median:
            return None
        return self.median / self.baseline_median

    @property
    def passed(self) -> bool | None:
        ratio = self.ratio
        if ratio is None or self.target is None:
            return None
        return ratio >= self.target if self.higher_is_better else ratio <= self.target

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "unit": self.unit,
            "samples": self.samples,
            "median": self.median,
            "min": min(self.samples, default=None),
            "max": max(self.samples, default=None),
            "baseline_samples": self.baseline_samples,
            "baseline_median": self.baseline_median,
            "ratio": self.ratio,
            "target": self.target,
            "target_reads": _target_reads(self, ascii_only=True),
            "pass": self.passed,
            "note": self.note,
            **({"extra": self.extra} if self.extra else {}),
            **({"skipped": self.skipped} if self.skipped else {}),
        }


def _target_reads(figure: Figure, *, ascii_only: bool = False) -> str:
    if figure.target is None:
        return "reference"
    if ascii_only:
        return (">=" if figure.higher_is_better else "<=") + f" {figure.target} x"
    return ("≥ " if figure.higher_is_better else "≤ ") + f"{figure.target}×"


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def table(figures: list[Figure]) -> str:
    """A plain-text table, one line per figure."""
    header = ("figure", "unit", "median", "min-max", "baseline", "ratio", "target", "result")
    rows = [header]
    for fig in figures:
        ratio = fig.ratio
        verdict = {True: "PASS", False: "FAIL", None: "n/a"}[fig.passed]
        if fig.target is None:
            verdict = "-"
        if fig.skipped:
            verdict = f"SKIPPED: {fig.skipped}"
        rows.append(
            (
                fig.name,
                fig.unit,
                _num(fig.median),
                f"{_num(min(fig.samples))}-{_num(max(fig.samples))}" if fig.samples else "-",
                _num(fig.baseline_median),
                "n/a" if ratio is None else f"{ratio:.3f}",
                _target_reads(fig),
                verdict,
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def report(figures: list[Figure], *, meta: dict) -> dict:
    return {"meta": meta, "figures": [fig.as_dict() for fig in figures]}


def write_json(figures: list[Figure], *, meta: dict, directory: Path = RESULTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(tz=datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{stamp}.json"
    path.write_text(json.dumps(report(figures, meta=meta), indent=2) + "\n")
    return path
