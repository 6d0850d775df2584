"""Upload, run and Celery task of the CSV import: per row, safe to run twice (STYLE 2-3)."""

from __future__ import annotations

import dataclasses
import datetime
import io
import logging
from dataclasses import dataclass, field
from pathlib import PurePath

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from companies.models import Shop
from companies.tenancy import tenant_scope
from invitations.csv_import.reading import Header, ImportFailed, detect_encoding, open_records
from invitations.csv_import.report import Report, storable
from invitations.csv_import.rows import RowReader, RowRejected
from invitations.ingest import ItemInput, OrderInput, orders_ingest
from invitations.models import OrderImport

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 200 * 1024 * 1024
CHUNK_ORDERS = 5_000  # per orders_ingest call (its limit is 10,000)
CHUNK_ROWS = 10_000  # rows per chunk, so orders with many items stay bounded as well
# A running import writes progress at least every CHUNK_ROWS rows (seconds apart). One silent
# for this long lost its worker; the redelivered task may claim it again (ingest is idempotent).
STALE_AFTER = datetime.timedelta(minutes=15)


class OrderImportRefused(Exception):
    """The upload is refused before anything is stored; ``code`` says why."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


def _check_size(uploaded_file) -> None:
    size = uploaded_file.size or 0
    if size == 0:
        raise OrderImportRefused("The file is empty.", code="file_empty")
    if size > MAX_FILE_BYTES:
        raise OrderImportRefused(
            f"The file has {size / 1e6:.0f} MB; at most {MAX_FILE_BYTES // 2**20} MB can be "
            "imported at once. Split it into several files.",
            code="file_too_large",
        )


def order_import_check(*, uploaded_file) -> None:
    """Refuse at once what would fail as a whole: an empty or too large file, one that is not
    text, and one whose header cannot be read (the backend's form shows it next to the field,
    and nothing is stored). Rows are not checked here; they are reported one by one."""
    _check_size(uploaded_file)
    stream = uploaded_file.file
    try:
        stream.seek(0)
        encoding, _ = detect_encoding(stream)
        stream.seek(0)
        text = io.TextIOWrapper(stream, encoding=encoding, newline="")
        try:
            if "\x00" in text.read(_TEXT_PROBE_CHARS):
                raise OrderImportRefused(_NOT_TEXT, code="file_not_text")
            text.seek(0)
            open_records(text)
        finally:
            text.detach()
    except ImportFailed as exc:
        raise OrderImportRefused(str(exc), code="file_unreadable") from exc
    finally:
        stream.seek(0)


_TEXT_PROBE_CHARS = 64 * 1024
_NOT_TEXT = (
    "The file is not CSV text in a known encoding: it contains NUL bytes, as UTF-16 without a "
    "byte order mark, spreadsheets (.xlsx) and other binary files do. Save it as CSV (UTF-8)."
)


def order_import_create(*, shop: Shop, uploaded_file, original_name: str) -> OrderImport:
    """Store an uploaded file and queue its import once the row is committed."""
    _check_size(uploaded_file)
    job = OrderImport(
        company_id=shop.company_id, shop=shop, original_name=_clean_name(original_name)
    )
    with transaction.atomic():
        job.source.save(f"{job.public_id}.csv", uploaded_file, save=True)
        transaction.on_commit(lambda: order_import_task.delay(job.pk))
    return job


def order_import_run(*, import_id: int) -> None:
    """Import a queued file. Safe to run twice: only the run that claims the job does anything."""
    job = _claim(import_id)
    if job is None:
        return
    importer = _Importer(job)
    try:
        importer.run()
    except ImportFailed as exc:
        importer.finish(error=str(exc))
    except SoftTimeLimitExceeded:
        importer.finish(error=importer.stopped_message("took longer than the time limit"))
    except Exception:
        logger.exception("order import %s stopped by an unexpected error", job.public_id)
        importer.finish(error=importer.stopped_message("was stopped by an unexpected error"))
        raise
    else:
        importer.finish()
    finally:
        importer.close()


@shared_task(name="invitations.order_import", soft_time_limit=60 * 60, time_limit=65 * 60)
def order_import_task(import_id: int) -> None:
    """Thin task: finds the job's company and runs the import inside its tenant scope."""
    company_id = _company_of(import_id)
    if company_id is None:
        return
    with tenant_scope(company_id):
        order_import_run(import_id=import_id)


def _company_of(import_id: int) -> int | None:
    # The task gets only the job's id, so finding its tenant reads across tenants, once.
    return (
        OrderImport.objects.unscoped()
        .filter(pk=import_id)
        .values_list("company_id", flat=True)
        .first()
    )


def _claim(import_id: int) -> OrderImport | None:
    company_id = _company_of(import_id)
    if company_id is None:
        return None
    now = timezone.now()
    jobs = OrderImport.objects.for_company(company_id).filter(pk=import_id)
    claimable = Q(status=OrderImport.Status.QUEUED) | Q(
        status=OrderImport.Status.RUNNING, updated_at__lt=now - STALE_AFTER
    )
    claimed = jobs.filter(claimable).update(
        status=OrderImport.Status.RUNNING,
        rows_processed=0,
        orders_created=0,
        orders_known=0,
        rows_rejected=0,
        report_sample=[],
        error="",
        updated_at=now,
    )
    return jobs.select_related("shop").get() if claimed else None


def _clean_name(name: str) -> str:
    name = PurePath((name or "").replace("\\", "/")).name
    return "".join(char for char in name if char.isprintable())[:255]


@dataclass
class _PendingOrder:
    order: OrderInput
    lines: list[int]
    items: dict[str, ItemInput] = field(default_factory=dict)


@dataclass
class _Chunk:
    orders: dict[str, _PendingOrder] = field(default_factory=dict)
    rows: int = 0
    first_line: int = 0

    def full(self) -> bool:
        return len(self.orders) >= CHUNK_ORDERS or self.rows >= CHUNK_ROWS

    def inputs(self) -> list[OrderInput]:
        return [
            dataclasses.replace(pending.order, items=tuple(pending.items.values()))
            for pending in self.orders.values()
        ]


class _Importer:
    """One run over one file: reads rows, merges orders, ingests chunks, keeps the counts."""

    def __init__(self, job: OrderImport):
        self.job = job
        self.report = Report()
        self.chunk = _Chunk()
        self.reader: RowReader | None = None
        self.rows = self.created = self.known = self.unsaved_rows = 0
        self.rows_total = 0
        self.last_line = 0

    def run(self) -> None:
        storage, name = self.job.source.storage, self.job.source.name
        with storage.open(name, "rb") as stream:
            encoding, line_feeds = detect_encoding(stream)
        with storage.open(name, "rb") as stream:
            text = io.TextIOWrapper(stream, encoding=encoding, newline="")
            try:
                header, records = open_records(text)
                self.start(header, line_feeds)
                for line, cells, problem in records:
                    self.take(line, cells, problem)
                self.flush()
            finally:
                text.detach()

    def start(self, header: Header, line_feeds: int) -> None:
        self.reader = RowReader(header)
        self.rows_total = max(line_feeds + 1 - header.line, 0)  # an estimate until done
        if header.ignored:
            names = ", ".join(f"'{name[:40]}'" for name in header.ignored[:50])
            self.report.add(header.line, "", f"Columns not recognized and ignored: {names}.")
        self.progress()

    def take(self, line: int, cells: list[str] | None, problem: str) -> None:
        if cells is not None and not any(cell.strip() for cell in cells):
            return  # a blank line, or one of only delimiters as spreadsheets write them
        if cells is None:
            self.report.reject(line, "", problem)
        else:
            self._take_row(line, cells)
        self.rows += 1  # after the row, so a chunk flushed by it does not count it yet
        self.last_line = line
        self.unsaved_rows += 1
        if self.unsaved_rows >= CHUNK_ROWS:
            self.progress()

    def _take_row(self, line: int, cells: list[str]) -> None:
        values: dict[str, str] = {}
        try:
            values = self.reader.cells(cells)
            self._add(line, values)
        except RowRejected as exc:
            order_id = values.get("order_id") or _cell(cells, self.reader.header, "order_id")
            self.report.reject(line, order_id, str(exc))

    def _add(self, line: int, values: dict[str, str]) -> None:
        pending = self.chunk.orders.get(values.get("order_id", ""))
        if pending is not None:
            self._add_to_order(pending, line, values)
            return
        if self.chunk.full():
            self.flush()
        order = self.reader.order(values)
        pending = _PendingOrder(order, [line], {item.product_id: item for item in order.items})
        self.chunk.orders[order.order_id] = pending
        self.chunk.rows += 1
        self.chunk.first_line = self.chunk.first_line or line

    def _add_to_order(self, pending: _PendingOrder, line: int, values: dict[str, str]) -> None:
        email = values.get("email", "")
        # Local parts are kept as given (IN-4), but no mail server tells Kim@ from kim@.
        if email and self.reader.email(email).casefold() != pending.order.email.casefold():
            raise RowRejected(
                f"{self.reader.column_name('email')}: order {pending.order.order_id} has another "
                f"email address on line {pending.lines[0]}; one order has one customer."
            )
        item = self.reader.item(values)
        if item is None:
            return  # a repeat of the order's own fields adds nothing
        if item.product_id not in pending.items:
            # Only rows that add an item are remembered, so memory stays bounded by the cap.
            if len(pending.items) >= self.reader.max_items:
                raise RowRejected(
                    f"Order {pending.order.order_id} has more than {self.reader.max_items} items."
                )
            pending.lines.append(line)
            self.chunk.rows += 1
        pending.items[item.product_id] = item

    def flush(self) -> None:
        if not self.chunk.orders:
            return
        pending_orders = list(self.chunk.orders.values())
        results = orders_ingest(shop=self.job.shop, orders=self.chunk.inputs())
        for pending, result in zip(pending_orders, results, strict=True):
            if result.outcome == "rejected":
                for line in pending.lines:
                    self.report.reject(line, result.order_id, result.reason)
            elif result.outcome == "created":
                self.created += 1
            else:
                self.known += 1
        self.chunk = _Chunk()
        self.progress()

    def progress(self, **final) -> None:
        self.unsaved_rows = 0
        now = timezone.now()
        OrderImport.objects.for_company(self.job.company_id).filter(pk=self.job.pk).update(
            rows_total=max(self.rows_total, self.rows),
            rows_processed=self.rows,
            orders_created=self.created,
            orders_known=self.known,
            rows_rejected=self.report.rejected,
            report_sample=self.report.sample,
            updated_at=now,
            **final,
        )

    def stopped_message(self, what: str) -> str:
        through = (self.chunk.first_line or self.last_line + 1) - 1
        return (
            f"The import {what}. Lines up to {through} were imported and reported; the rest of "
            "the file was not. Import the file again: orders already imported are recognized "
            "and not created twice."
        )

    def finish(self, *, error: str = "") -> None:
        if not error:
            self.rows_total = self.rows
        status = OrderImport.Status.FAILED if error else OrderImport.Status.DONE
        self.progress(
            status=status,
            error=storable(error)[:500],
            report=self.report.save(self.job),
            source="",
            finished_at=timezone.now(),
        )
        self._delete_source()

    def _delete_source(self) -> None:
        # The file holds customers' names and addresses; once its orders are stored it has no
        # further use (R11, 000 §3). The report keeps only order ids and reasons.
        try:
            self.job.source.storage.delete(self.job.source.name)
        except OSError:
            logger.warning("order import %s: could not delete its source file", self.job.public_id)

    def close(self) -> None:
        self.report.close()


def _cell(cells: list[str], header: Header, column: str) -> str:
    index = header.columns.get(column)
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()[:255]
