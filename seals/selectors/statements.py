"""Hand-written statements for the public surfaces, built from model metadata.

The certificate page, the widget and the seal read the database on every request that no cache
answers, so their reads are hand-written statements: compiling the equivalent ORM queries costs
more CPU than the database spends answering them (``bench``, figure "origin"). The statements are
built once per process from model metadata and constants; every value travels as a parameter,
and the columns go through the converters the ORM would apply, so they run on Postgres and the
embedded SQLite.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Field, Model

from companies.models import Company, Product, Shop
from reviews.models import CompanyComment, Review, ReviewMedia
from seals.models import SealStatus

SHOP = Shop._meta.db_table
COMPANY = Company._meta.db_table
PRODUCT = Product._meta.db_table
STATUS = SealStatus._meta.db_table
REVIEW = Review._meta.db_table
MEDIA = ReviewMedia._meta.db_table
COMMENT = CompanyComment._meta.db_table

Column = tuple[str, Field]  # (table alias, model field)


def columns(alias: str, model: type[Model], names: Iterable[str] | None = None) -> list[Column]:
    """The model's concrete columns (or the named ones) under a table alias, in field order."""
    if names is None:
        return [(alias, f) for f in model._meta.concrete_fields]
    return [(alias, model._meta.get_field(name)) for name in names]


def select(selected: Sequence[Column]) -> str:
    return ", ".join(f'{alias}."{f.column}"' for alias, f in selected)


@functools.cache
def _converters(selected: tuple[Column, ...], vendor: str) -> tuple:
    """(index, converters, expression) of each column the ORM would convert.

    None on Postgres; dates, booleans and UUIDs on SQLite. They depend only on the backend
    (``vendor``), so each statement looks them up once per process.
    """
    found = []
    for index, (_alias, model_field) in enumerate(selected):
        expression = model_field.get_col(model_field.model._meta.db_table)
        functions = connection.ops.get_db_converters(expression)
        functions += model_field.get_db_converters(connection)
        if functions:
            found.append((index, tuple(functions), expression))
    return tuple(found)


def fetch(sql: str, params, selected: tuple[Column, ...]) -> list[Sequence]:
    """The rows of ``sql``; the first ``len(selected)`` values of each converted like the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = _converters(selected, connection.vendor)
    if not converters:
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for index, functions, expression in converters:
            for convert in functions:
                values[index] = convert(values[index], expression, connection)
        converted.append(values)
    return converted


def instance(model: type[Model], values: Sequence):
    """A model instance from all its concrete columns; ``None`` for an outer join's empty side."""
    if values[0] is None:
        return None
    return model.from_db(connection.alias, None, values)


def placeholders(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))
