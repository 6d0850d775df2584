"""The harness's own database: created, migrated and dropped by the harness only.

Its name must start with ``ekomi_bench`` so a typo can never drop the dev or test database.
"""

from __future__ import annotations

import os

import psycopg
from psycopg import sql

PREFIX = "ekomi_bench"


def conninfo(dbname: str) -> str:
    host = os.environ.get("BENCH_PGHOST", "127.0.0.1")
    port = os.environ.get("BENCH_PGPORT", "5432")
    user = os.environ.get("BENCH_PGUSER", "postgres")
    return f"host={host} port={port} user={user} dbname={dbname}"


def _check(name: str) -> None:
    if not name.startswith(PREFIX):
        raise ValueError(f"benchmark databases are named {PREFIX}*, not {name!r}")


def database_recreate(*, name: str) -> None:
    _check(name)
    with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_drop(*, name: str) -> None:
    _check(name)
    with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def django_setup(*, name: str) -> None:
    """Point Django at the bench database and migrate it (schema exactly as in production)."""
    _check(name)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["BENCH_DATABASE_NAME"] = name
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
