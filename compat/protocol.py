"""The v3 wire conventions shared by every method: errors, output types, charsets, ranges.

Every answer is HTTP 200; an error is a plain-text body that clients string-compare
(``Access denied``, ``NonAuth``, ``NonFunction``, ``ERROR: ...``), never JSON.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from dataclasses import dataclass, field
from urllib.parse import quote

from dateutil.relativedelta import relativedelta
from django.http import HttpResponse
from django.utils import timezone

from compat import php

NON_AUTH = "NonAuth"
NON_FUNCTION = "NonFunction"
ACCESS_DENIED = "Access denied"
CHARSET_ERROR = "ERROR: Charset is not valid. Possible options: [iso] and ([utf-8])."
RANGE_ERROR = "ERROR: Range is not valid. Possible options: ([all]), [1w], [1m], [3m], [6m], [1y]."
DAYS_ERROR = "ERROR: Days is not valid. Possible options: 1 to 1095."
BAD_REQUEST = "Something in your request was wrong."

CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "iso": "iso-8859-1", "iso-8859-1": "iso-8859-1"}
RANGES = {
    "all": None,
    "1w": relativedelta(weeks=1),
    "1m": relativedelta(months=1),
    "3m": relativedelta(months=3),
    "6m": relativedelta(months=6),
    "1y": relativedelta(years=1),
}
MAX_DAYS = 1095


class ApiError(Exception):
    """An answer the client reads as an error: its text is the whole body."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True)
class Payload:
    """What a method answers: ``data`` for json/serialized/request, ``rows`` for csv."""

    data: object
    rows: list[list[object]] = field(default_factory=list)


def error_response(text: str) -> HttpResponse:
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


def charset_of(params, default: str) -> str:
    value = (params.get("charset") or default).strip().lower()
    if value not in CHARSETS:
        raise ApiError(CHARSET_ERROR)
    return CHARSETS[value]


def since_for_range(params) -> datetime.datetime | None:
    value = (params.get("range") or "all").strip().lower()
    if value not in RANGES:
        raise ApiError(RANGE_ERROR)
    delta = RANGES[value]
    return None if delta is None else timezone.now() - delta


def days_of(params) -> int | None:
    value = (params.get("days") or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_DAYS:
        raise ApiError(DAYS_ERROR)
    return int(value)


def unix(moment: datetime.datetime | None) -> int | str:
    return int(moment.timestamp()) if moment else ""


def csv_text(rows: list[list[object]]) -> str:
    """Comma-separated, no header; newlines inside text travel as the two characters ``\\n``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([str(cell).replace("\r\n", "\\n").replace("\n", "\\n") for cell in row])
    return buffer.getvalue()


def render(payload: Payload, *, output: str, charset: str) -> HttpResponse:
    if output == "json":
        # "for all JSON utf-8 must be used" (KB), whatever charset was asked for.
        body = json.dumps(payload.data, ensure_ascii=False, separators=(",", ":"))
        return HttpResponse(body.encode(), content_type="application/json; charset=utf-8")
    if output == "serialized":
        body = php.dumps(payload.data, encoding=charset)
        return HttpResponse(body, content_type=f"text/plain; charset={charset}")
    if output == "request":
        body = "&".join(f"{key}={_quote(value)}" for key, value in dict(payload.data).items())
        return HttpResponse(
            body.encode(charset, errors="replace"), content_type=f"text/plain; charset={charset}"
        )
    body = csv_text(payload.rows).encode(charset, errors="replace")
    return HttpResponse(body, content_type=f"text/csv; charset={charset}")


def _quote(value: object) -> str:
    return quote(str(value), safe="")
