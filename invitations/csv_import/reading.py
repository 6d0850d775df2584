"""Reading a CSV file as records: encoding, delimiter, header, line numbers, dates (IN-3)."""

from __future__ import annotations

import codecs
import csv
import datetime
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils import timezone

MAX_CELL_CHARS = 10_000
# No row is this long (cells are at most MAX_CELL_CHARS); a longer line is skipped, so a file
# that is one endless line cannot fill the memory.
MAX_LINE_CHARS = 2_000_000
_READ_BYTES = 256 * 1024
_MAX_HEADER_LINES = 20

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "order_id": (
        "order id",
        "order number",
        "order_no",
        "ordernumber",
        "bestellnummer",
        "bestell-nr",
        "auftragsnummer",
    ),
    "email": ("e-mail", "email address", "customer email", "mail", "e-mail-adresse"),
    "first_name": ("firstname", "given name", "vorname"),
    "last_name": ("lastname", "surname", "family name", "nachname"),
    "order_date": ("date", "ordered at", "order date", "bestelldatum", "datum"),
    "delivery_date": ("delivered at", "delivery date", "lieferdatum", "versanddatum"),
    "locale": ("language", "lang", "sprache"),
    "consent": ("einwilligung",),
    "product_id": ("product id", "sku", "artikelnummer", "item id"),
    "product_name": ("product", "artikel", "artikelname", "produkt"),
    "gtin": ("ean", "gtin13"),
    "brand": ("marke",),
    "mpn": (),
}
REQUIRED_COLUMNS = ("order_id", "email", "order_date")


def _header_key(name: str) -> str:
    return re.sub(r"[\s_.\-]+", "", name).casefold()


_COLUMN_OF = {
    _header_key(alias): column
    for column, aliases in HEADER_ALIASES.items()
    for alias in (column, *aliases)
}
DELIMITER_NAMES = {";": "semicolon", ",": "comma", "\t": "tab"}
_SEP_HINT = re.compile(r"^\s*sep=(.)\s*$")
_CONSENT = {"yes": True, "true": True, "1": True, "ja": True, "x": True, "": True}
_CONSENT.update({"no": False, "false": False, "0": False, "nein": False})
_EXCEL_SERIAL = re.compile(r"^\d{5}(?:[.,]\d+)?$")  # 1927-2173; a bare year is no date
_DAY_FIRST = re.compile(
    r"^(\d{1,2})([./])(\d{1,2})\2(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_EXCEL_EPOCH = datetime.datetime(1899, 12, 30)  # noqa: DTZ001 (a naive local calendar origin)
_PLAUSIBLE_YEARS = (1990, 2099)
DATE_HELP = (
    "use YYYY-MM-DD, DD.MM.YYYY or DD/MM/YYYY (optionally with a time HH:MM[:SS]) "
    "or an Excel date number, between the years 1990 and 2099"
)


class ImportFailed(Exception):
    """The file cannot be read any further; the message becomes ``OrderImport.error``."""


def detect_encoding(stream) -> tuple[str, int]:
    """First pass over a binary stream: its encoding and its number of line feeds."""
    chunk = stream.read(_READ_BYTES)
    if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "cp1252"]
    decoders = {name: codecs.getincrementaldecoder(name)() for name in candidates}
    line_feeds = 0
    while chunk:
        line_feeds += chunk.count(b"\n")
        _feed(decoders, chunk, final=False)
        chunk = stream.read(_READ_BYTES)
    _feed(decoders, b"", final=True)
    for name in candidates:
        if name in decoders:
            return name, line_feeds
    if candidates == ["utf-16"]:
        raise ImportFailed("The file starts like UTF-16 text but is not; save it as UTF-8 CSV.")
    return "latin-1", line_feeds  # decodes any byte sequence


def _feed(decoders: dict, chunk: bytes, *, final: bool) -> None:
    for name, decoder in list(decoders.items()):
        try:
            decoder.decode(chunk, final)
        except UnicodeDecodeError:
            del decoders[name]


@dataclass
class Header:
    line: int
    delimiter: str
    width: int
    columns: dict[str, int]  # column → cell index
    names: dict[str, str]  # column → the name the file gives it
    ignored: list[str]


class _Lines:
    """The physical lines of a text, each at most ``MAX_LINE_CHARS`` long. A longer line is read
    to its end in bounded pieces and comes back blank; its number goes to ``too_long``."""

    def __init__(self, text):
        self.text = text
        self.number = 0
        self.too_long: list[int] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.text.readline(MAX_LINE_CHARS)
        if not line:
            raise StopIteration
        self.number += 1
        if len(line) < MAX_LINE_CHARS or line.endswith(("\n", "\r")):
            return line
        while (rest := self.text.readline(MAX_LINE_CHARS)) and not rest.endswith(("\n", "\r")):
            pass
        self.too_long.append(self.number)
        return "\n"


def open_records(text) -> tuple[Header, Iterator[tuple[int, list[str] | None, str]]]:
    """The header and the records after it, each with the physical line it starts on."""
    lines = _Lines(text)
    skipped, delimiter, header_lines = _header_lines(lines)
    delimiter = delimiter or sniff_delimiter("".join(header_lines))
    reader = csv.reader(itertools.chain(header_lines, lines), delimiter=delimiter, strict=True)
    try:
        cells = next(reader)
    except csv.Error as exc:
        raise ImportFailed(f"The header (line {skipped + 1}) cannot be read: {exc}.") from exc
    header = parse_header(cells, line=skipped + 1, delimiter=delimiter)
    return header, _records(reader, lines, offset=skipped)


def _header_lines(lines: _Lines) -> tuple[int, str | None, list[str]]:
    skipped, delimiter = 0, None
    line = next(lines, "")
    while line and (not line.strip() or (delimiter is None and _SEP_HINT.match(line))):
        if hint := _SEP_HINT.match(line):
            delimiter = hint[1]
        skipped += 1
        line = next(lines, "")
    if not line:
        raise ImportFailed("The file has no header line: it is empty or holds only blank lines.")
    if lines.too_long:
        raise ImportFailed(f"Line {lines.too_long[0]} is too long to be a header; is it CSV?")
    header_lines = [line]
    # A quoted header cell may hold a line break; read on until the quotes are balanced.
    while "".join(header_lines).count('"') % 2 and len(header_lines) < _MAX_HEADER_LINES:
        more = next(lines, "")
        if not more:
            break
        header_lines.append(more)
    return skipped, delimiter, header_lines


def sniff_delimiter(header: str) -> str:
    """``;``, ``,`` or tab: whichever occurs most outside quotes (a tie goes to ``;``)."""
    counts = dict.fromkeys(";,\t", 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return max(counts, key=counts.__getitem__)


def parse_header(cells: list[str], *, line: int, delimiter: str) -> Header:
    columns: dict[str, int] = {}
    names: dict[str, str] = {}
    ignored: list[str] = []
    for index, raw in enumerate(cells):
        name = raw.strip().lstrip("\ufeff")
        column = _COLUMN_OF.get(_header_key(name))
        if column is None:
            if name:
                ignored.append(name)
            continue
        if column in columns:
            raise ImportFailed(
                f"The header (line {line}) names the column {column} twice: "
                f"'{names[column]}' (column {columns[column] + 1}) and '{name}' "
                f"(column {index + 1}). Keep one of them."
            )
        columns[column], names[column] = index, name
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        found = ", ".join(f"'{cell.strip()[:40]}'" for cell in cells[:20] if cell.strip())
        raise ImportFailed(
            f"The header (line {line}) has no column for {', '.join(missing)}. Every file needs "
            f"order_id, email and order_date (German: Bestellnummer, E-Mail, Bestelldatum); "
            f"the columns found, split at each {DELIMITER_NAMES.get(delimiter, delimiter)}, "
            f"are: {found or 'none'}."
        )
    return Header(line, delimiter, len(cells), columns, names, ignored)


def _records(reader, lines: _Lines, *, offset: int) -> Iterator[tuple[int, list[str] | None, str]]:
    """``(line, cells, "")`` per record, or ``(line, None, reason)`` where CSV breaks down."""
    while True:
        start = offset + reader.line_num + 1
        try:
            cells, problem = next(reader), ""
        except StopIteration:
            return
        except csv.Error as exc:
            cells, problem = None, _csv_reason(str(exc), start, offset + reader.line_num)
        while lines.too_long:
            reason = f"The line is longer than {MAX_LINE_CHARS:,} characters and was skipped."
            yield lines.too_long.pop(0), None, reason
        yield start, cells, problem


def _csv_reason(message: str, start: int, end: int) -> str:
    if end > start:
        return (
            f"A quoted cell on line {start} is not closed where it should be (unbalanced "
            f"quotes), so lines {start}-{end} could not be read as rows. Check the quotes on "
            f"line {start}: a cell starts and ends with a quote, and a quote inside a cell is "
            'written twice ("").'
        )
    if "field larger than field limit" in message:
        return f"A cell is longer than {MAX_CELL_CHARS:,} characters."
    if "expected after" in message:
        return (
            "A quote ends in the middle of a cell. Put the whole cell in quotes and write "
            'every quote inside it twice ("").'
        )
    return f"This line cannot be read as CSV: {message}."


# --- Dates and consent ---------------------------------------------------------------------------


def parse_datetime(value: str) -> datetime.datetime | None:
    """A spreadsheet's date or time as an aware datetime; naive ones are local (TIME_ZONE)."""
    value = value.strip()
    if not value:
        return None
    if _EXCEL_SERIAL.match(value):
        days = float(value.replace(",", "."))
        moment = _EXCEL_EPOCH + datetime.timedelta(seconds=round(days * 86400))
    elif match := _DAY_FIRST.match(value):
        day, _, month, year, hour, minute, second = match.groups()
        numbers = (year, month, day, hour or 0, minute or 0, second or 0)
        moment = datetime.datetime(*map(int, numbers))  # noqa: DTZ001 (made aware below)
    elif re.match(r"^\d{4}-\d{2}-\d{2}", value):
        moment = datetime.datetime.fromisoformat(value)
    else:
        raise ValueError(value)
    if not _PLAUSIBLE_YEARS[0] <= moment.year <= _PLAUSIBLE_YEARS[1]:
        # Year 1 or 9999 would overflow scheduling (order date + delay) and the database.
        raise ValueError(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def parse_consent(value: str) -> bool:
    try:
        return _CONSENT[value.strip().casefold()]
    except KeyError:
        raise ValueError(value) from None
