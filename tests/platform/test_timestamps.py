"""Timestamps read from Postgres by the C ISO parser (issue 12): the same values, time zones and
errors as Django's own loader, on every connection."""

from __future__ import annotations

import datetime
import zoneinfo

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format

from ekomi.timestamps import loader_for

TIMESTAMPTZ = psycopg.postgres.types["timestamptz"].oid
# Fractions of every length, summer and winter time, a 19th-century local mean time offset with
# seconds (Europe/Berlin +00:53:28), a year below 1000, a day before the end of the range.
LITERALS = [
    "2026-11-23 05:01:42.683516+00",
    "2026-11-23 05:01:42.6+00",
    "2026-11-23 05:01:42+00",
    "2026-07-01 12:00:00.5+02",
    "2026-03-29 01:59:59.999999+00",
    "2026-03-29 02:00:00+01",
    "1850-06-01 00:00:00+00",
    "0099-01-01 00:00:00+00",
    "9999-12-30 23:59:59.999999+00",
]


def _select(cursor, literals: list[str]) -> list:
    values = ", ".join(f"'{literal}'::timestamptz" for literal in literals)
    return list(cursor.execute(f"SELECT {values}").fetchone())


@pytest.mark.django_db
def test_it_is_the_loader_of_every_django_connection():
    """Issue 12: the fast loader is what a connection's cursors use, for its time zone."""
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
    assert loader is loader_for(connection.timezone)
    with connection.cursor() as cursor:
        cursor.execute("SELECT '2026-11-23 05:01:42.5+01'::timestamptz")
        (value,) = cursor.fetchone()
    assert value == datetime.datetime(2026, 11, 23, 4, 1, 42, 500000, tzinfo=datetime.UTC)
    assert value.tzinfo is connection.timezone


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kolkata"])
def test_it_reads_what_djangos_loader_reads_in_any_session_time_zone(zone):
    """Issue 12: in a session of any time zone (offsets of half hours, seconds, DST), each value
    is the same instant with the same tzinfo as Django's loader gives."""
    timezone = datetime.UTC if zone == "UTC" else zoneinfo.ZoneInfo(zone)
    dsn = f"host={connection.settings_dict['HOST']} port={connection.settings_dict['PORT']} "
    dsn += f"user={connection.settings_dict['USER']} dbname=postgres"
    with psycopg.connect(dsn) as conn:
        conn.execute(f"SET TimeZone TO '{zone}'")
        theirs = conn.cursor()
        register_tzloader(timezone, theirs)
        ours = conn.cursor()
        ours.adapters.register_loader("timestamptz", loader_for(timezone))
        expected, got = _select(theirs, LITERALS), _select(ours, LITERALS)
    assert got == expected
    assert [v.utcoffset() for v in got] == [v.utcoffset() for v in expected]
    assert [v.tzinfo for v in got] == [timezone] * len(LITERALS)


@pytest.mark.django_db
@pytest.mark.parametrize("literal", ["infinity", "-infinity", "0044-03-15 12:00:00+00 BC"])
def test_it_leaves_what_python_cannot_hold_to_djangos_loader(literal):
    """Issue 12: values outside Python's datetime fail as they did (psycopg's DataError, wrapped
    by Django), not with another error or a wrong date."""
    from django.db import DataError

    with connection.cursor() as cursor, pytest.raises(DataError):
        cursor.execute(f"SELECT '{literal}'::timestamptz")
        cursor.fetchone()


@pytest.mark.django_db
def test_it_loads_naive_times_as_django_does_without_a_time_zone():
    """Issue 12: a connection without a time zone (USE_TZ off) gets Django's naive values."""
    connection.ensure_connection()
    with connection.connection.cursor() as ours, connection.connection.cursor() as theirs:
        ours.adapters.register_loader("timestamptz", loader_for(None))
        register_tzloader(None, theirs)
        assert _select(ours, LITERALS[:3]) == _select(theirs, LITERALS[:3])
        assert all(value.tzinfo is None for value in _select(ours, LITERALS[:3]))
