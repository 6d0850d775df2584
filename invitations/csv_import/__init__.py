"""CSV import of orders: a file in, one invitation per order out (R5, R8; IN-3, IN-4, IN-5, ID-3).

The import is **per row** (TESTPLAN, decided once): good rows are taken, every bad row goes to
the report with its physical line number (1 = the first line of the file) and a reason, blank
lines are skipped. Only a file that cannot be read as a table (no header, a required column
missing, a column named twice) fails as a whole, and then before any row is stored.

Reading, in two streaming passes so memory stays constant at any size:

1. The encoding: UTF-8 (a BOM is optional and stripped); otherwise Windows-1252, otherwise
   Latin-1 (Excel's "CSV" on Windows). UTF-16 with a BOM (Excel's "Unicode text") is read too.
2. The rows, with ``csv.reader`` in strict mode. The delimiter is whichever of ``;``, ``,`` or
   tab occurs most outside quotes in the header (or an Excel ``sep=;`` first line). Column
   names are matched case-, space-, underscore- and hyphen-insensitively, in English or German
   (``HEADER_ALIASES``); unknown columns are ignored and named in the report (as line 1).

Every row is checked by the API's own ``OrderSerializer``, so the CSV and the API accept the same
orders; only dates, consent and the language code are read more leniently here, as spreadsheets
write them. Dates (``parse_datetime``): ISO 8601 with or without time and zone, DD.MM.YYYY and
DD/MM/YYYY (day first, never the US order) with an optional HH:MM[:SS], and Excel serial numbers
(45235 is 5 Nov 2023); times without a zone are Europe/Berlin (TIME_ZONE); years 1990-2099.
Consent: yes/no, ja/nein, true/false, 1/0, x; empty means yes (the company attests it, R6).
A bad row's reason names every problem of the row, by the column name the file uses.

Several rows with one order id are one order with several items: the first row's customer fields
win, and a later row with a different email is rejected. Rows are handed to ``orders_ingest`` in
chunks of at most ``CHUNK_ORDERS`` orders, cut only where a new order id starts, so *adjacent*
rows of one order always merge. A repeat further down the file that lands in a later chunk is
answered "known" by ingest, which still adds its items; its email is then not compared.

Importing the same file again creates nothing new: ingest answers "known" for each order (R5).

Running: the task claims the job with a conditional UPDATE (queued → running), so a duplicate
delivery does nothing; counts and the first report lines are saved after every chunk for clients
that poll. A job still "running" without progress for ``STALE_AFTER`` lost its worker and may be
claimed again; it then starts over, and ingest recognizes the orders already stored.

Memory: lines are at most ``MAX_LINE_CHARS`` long (a longer one is skipped and reported), cells
at most ``MAX_CELL_CHARS``; chunks hold at most ``CHUNK_ORDERS`` orders and ``CHUNK_ROWS`` rows;
the report is written to a temporary file as it grows and only its first 100 lines stay in
memory (``report_sample``). Once finished, the uploaded file is deleted: it holds customers'
names and addresses, and the stored orders no longer need it (R11).

Modules: ``reading`` (encoding, delimiter, header, records, dates), ``rows`` (one record to an
``OrderInput`` through the API's serializers), ``report`` (the rejected-lines CSV, IN-5) and
``services`` (upload, run, Celery task).
"""

from invitations.csv_import.reading import (
    HEADER_ALIASES,
    MAX_CELL_CHARS,
    MAX_LINE_CHARS,
    REQUIRED_COLUMNS,
    parse_consent,
    parse_datetime,
)
from invitations.csv_import.report import neutralize
from invitations.csv_import.services import (
    CHUNK_ORDERS,
    CHUNK_ROWS,
    MAX_FILE_BYTES,
    OrderImportRefused,
    order_import_check,
    order_import_create,
    order_import_run,
    order_import_task,
)

__all__ = [
    "CHUNK_ORDERS",
    "CHUNK_ROWS",
    "HEADER_ALIASES",
    "MAX_CELL_CHARS",
    "MAX_FILE_BYTES",
    "MAX_LINE_CHARS",
    "REQUIRED_COLUMNS",
    "OrderImportRefused",
    "neutralize",
    "order_import_check",
    "order_import_create",
    "order_import_run",
    "order_import_task",
    "parse_consent",
    "parse_datetime",
]
