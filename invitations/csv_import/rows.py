"""One record of the file as an order, checked by the API's own serializers (IN-3, IN-4)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from rest_framework.exceptions import ValidationError

from invitations.csv_import.reading import (
    DATE_HELP,
    DELIMITER_NAMES,
    MAX_CELL_CHARS,
    REQUIRED_COLUMNS,
    Header,
    parse_consent,
    parse_datetime,
)
from invitations.ingest import ItemInput, OrderInput, normalize_email
from invitations.serializers import ItemSerializer, OrderSerializer

_PRODUCT_COLUMNS = ("product_name", "gtin", "brand", "mpn")
_SERIALIZER_FIELD_COLUMN = {"name": "product_name"}  # ItemSerializer field → CSV column


class RowRejected(Exception):
    """One line is not taken; the message is its reason in the report."""


class RowReader:
    """Turns one record into ``OrderInput``/``ItemInput`` with the API's serializers."""

    def __init__(self, header: Header):
        self.header = header
        self.order_serializer = OrderSerializer()
        self.item_serializer = ItemSerializer()
        self.max_items = self.order_serializer.fields["items"].max_length

    def column_name(self, column: str) -> str:
        return self.header.names.get(column, column)

    def cells(self, cells: list[str]) -> dict[str, str]:
        header = self.header
        extra = cells[header.width :]
        if any(cell.strip() for cell in extra):
            delimiter = DELIMITER_NAMES.get(header.delimiter, header.delimiter)
            raise RowRejected(
                f"This line has {len(cells)} cells but the header has {header.width} columns; "
                f"a value containing a {delimiter} needs quotes around it."
            )
        values = {}
        for column, index in header.columns.items():
            value = cells[index] if index < len(cells) else ""
            if "\x00" in value:
                raise RowRejected(
                    f"{self.column_name(column)}: the cell holds a NUL character (byte 0); "
                    "the file may be damaged."
                )
            if len(value) > MAX_CELL_CHARS:
                raise RowRejected(
                    f"{self.column_name(column)}: the cell has {len(value):,} characters; "
                    f"at most {MAX_CELL_CHARS:,} are allowed."
                )
            values[column] = value.strip()
        return values

    def order(self, values: dict[str, str]) -> OrderInput:
        """The row as an order; every problem of the row goes into one reason."""
        problems: dict[str, str] = {}  # column → reason, from the lenient readers here
        data = {
            "order_id": values.get("order_id", ""),
            "email": values.get("email", ""),
            "first_name": values.get("first_name", ""),
            "last_name": values.get("last_name", ""),
            "order_date": self._when(values, "order_date", problems),
            "delivery_date": self._when(values, "delivery_date", problems),
            "consent": self._consent(values, problems),
            "items": self._items(values, problems),
        }
        if locale := values.get("locale", ""):
            data["locale"] = re.split(r"[-_]", locale.casefold())[0]
        reasons = list(problems.values())
        try:
            validated = self.order_serializer.run_validation(data)
        except ValidationError as exc:
            reasons += [
                self._labelled(name, text) for name, text in _flat(exc) if name not in problems
            ]
        if reasons:
            raise RowRejected(" ".join(reasons))
        return OrderSerializer.as_input(validated)

    def item(self, values: dict[str, str]) -> ItemInput | None:
        problems: dict[str, str] = {}
        items = self._items(values, problems)
        if problems:
            raise RowRejected(" ".join(problems.values()))
        if not items:
            return None
        try:
            return self.item_serializer.run_validation(items[0])
        except ValidationError as exc:
            raise RowRejected(" ".join(self._labelled(*pair) for pair in _flat(exc))) from None

    def email(self, value: str) -> str:
        try:
            return normalize_email(value)
        except ValueError as exc:
            raise RowRejected(
                f"{self.column_name('email')}: Enter a valid email address: {exc}"
            ) from exc

    def _items(self, values: dict[str, str], problems: dict[str, str]) -> list[dict[str, str]]:
        if values.get("product_id"):
            data = {"product_id": values["product_id"], "name": values.get("product_name", "")}
            data.update({column: values.get(column, "") for column in ("gtin", "brand", "mpn")})
            return [data]
        if any(values.get(column) for column in _PRODUCT_COLUMNS):
            problems["product_id"] = (
                f"{self.column_name('product_id')}: the line describes a product but gives no "
                "product id."
            )
        return []

    def _when(self, values: dict[str, str], column: str, problems: dict[str, str]):
        value = values.get(column, "")
        try:
            moment = parse_datetime(value)
        except ValueError:
            problems[column] = (
                f"{self.column_name(column)}: '{value[:40]}' is not a date; {DATE_HELP}."
            )
            return None
        if moment is None and column in REQUIRED_COLUMNS:
            problems[column] = f"{self.column_name(column)}: the date is missing."
        return moment

    def _consent(self, values: dict[str, str], problems: dict[str, str]) -> bool:
        value = values.get("consent", "")
        try:
            return parse_consent(value)
        except ValueError:
            problems["consent"] = (
                f"{self.column_name('consent')}: '{value[:40]}' is not yes or no; write yes/no, "
                "ja/nein, true/false, 1/0, x, or leave it empty for yes."
            )
            return True

    def _labelled(self, serializer_field: str, message: str) -> str:
        if serializer_field in ("", "non_field_errors"):
            return message
        column = _SERIALIZER_FIELD_COLUMN.get(serializer_field, serializer_field)
        return f"{self.column_name(column)}: {message}"


def _flat(exc: ValidationError) -> Iterator[tuple[str, str]]:
    stack: list[tuple[str, object]] = [("", exc.detail)]
    while stack:
        name, detail = stack.pop(0)
        if isinstance(detail, dict):
            stack.extend((str(key), value) for key, value in detail.items())
        elif isinstance(detail, list):
            stack.extend((name, value) for value in detail)
        else:
            yield name, str(detail)
