"""Timestamps read from Postgres by Python's C-implemented ISO parser.

Django loads every ``timestamptz`` value through its ``BaseTzLoader``, a subclass of psycopg's
pure-Python loader (psycopg's own C loader cannot be subclassed): ~3.4 µs a value here, against
~0.3 µs for ``datetime.fromisoformat``. A send batch reads some twenty a row, a certificate page
a few per review. Postgres writes ``timestamptz`` in ISO form (the ``DateStyle`` psycopg and
Django leave at ISO), which ``fromisoformat`` reads exactly, offsets with seconds included; the
result is the same instant in the connection's time zone, as Django's loader returns it. Anything
else (``infinity``, BC dates, a non-ISO ``DateStyle``, a naive connection) goes to Django's
loader, which parses or raises as before.

Installed on every new Postgres connection (``install``, from ``companies.apps``); Django then
finds a loader for its time zone and keeps it.
"""

from __future__ import annotations

import datetime
from functools import cache

from django.db.backends.signals import connection_created


def install() -> None:
    connection_created.connect(_on_connection, dispatch_uid="ekomi.timestamps")


def _on_connection(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql":
        return
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if is_psycopg3:
        connection.connection.adapters.register_loader(
            "timestamptz", loader_for(connection.timezone)
        )


@cache
def loader_for(timezone: datetime.tzinfo | None) -> type:
    """The loader class for a connection whose time zone is ``timezone`` (Django's contract:
    the class says its ``timezone``; None loads naive datetimes)."""
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    class IsoTzLoader(BaseTzLoader):
        def load(self, data):
            if self.timezone is not None:
                try:
                    text = bytes(data).decode("ascii")
                    return datetime.datetime.fromisoformat(text).astimezone(self.timezone)
                except ValueError:
                    pass
            return super().load(data)

    IsoTzLoader.timezone = timezone
    return IsoTzLoader
