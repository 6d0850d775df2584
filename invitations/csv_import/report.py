"""The report: every rejected line with its reason, as a CSV file safe to open (IN-5)."""

from __future__ import annotations

import csv
import io
import tempfile

from django.core.files import File

from invitations.models import OrderImport

REPORT_SAMPLE_SIZE = 100


def neutralize(value):
    """A cell a spreadsheet will not run as a formula (IN-5): a leading = + - @ tab or CR gets
    a single quote in front."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def storable(text: str) -> str:
    """Text quoted from the file, safe for Postgres (no NUL in text or jsonb)."""
    return text.replace("\x00", "\ufffd")


class Report:
    """Rejected lines, written to a temporary CSV file as they come (RFC 4180 quoting)."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.text = io.TextIOWrapper(self.file, encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.text, lineterminator="\r\n")
        self.writer.writerow(["line", "order_id", "reason"])
        self.rejected = 0
        self.sample: list[dict] = []

    def reject(self, line: int, order_id: str, reason: str) -> None:
        self.rejected += 1
        self.add(line, order_id, reason)

    def add(self, line: int, order_id: str, reason: str) -> None:
        order_id, reason = storable(order_id[:255]), storable(reason)
        self.writer.writerow([line, neutralize(order_id), neutralize(reason)])
        if len(self.sample) < REPORT_SAMPLE_SIZE:
            self.sample.append({"line": line, "order_id": order_id, "reason": reason})

    def save(self, job: OrderImport) -> str:
        self.text.flush()
        self.file.seek(0)
        job.report.save(f"{job.public_id}.csv", File(self.file), save=False)
        return job.report.name

    def close(self) -> None:
        self.text.close()
