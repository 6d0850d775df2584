"""Database sessions, read by one plain statement instead of an ORM query.

Django's database session store reads a session with ``Session.objects.get(...)``: building that
query costs the web process about three times the CPU the database spends answering it, on every
request that looks at its session (every page of the backend; the rating pages keep their review
session in a signed cookie instead, ``reviews.views``). This store reads the same row of the same
table with a hand-written statement, prepared by the database after a few uses; everything else
(writing, expiry, cycling the key, clearing) is Django's.

Selected with ``SESSION_ENGINE = "ekomi.sessions"``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


@dataclass(frozen=True)
class _Row:
    session_data: str


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> _Row | None:
        """The unexpired session of this key, as Django's store finds it (None, key dropped,
        when there is none)."""
        if not self.session_key:  # a key that failed validation, or none at all
            self._session_key = None
            return None
        meta = self.model._meta
        connection = connections[router.db_for_read(self.model)]
        quote = connection.ops.quote_name
        sql = (
            f"SELECT {quote(meta.get_field('session_data').column)} "  # noqa: S608 (names from model metadata)  # nosec B608
            f"FROM {quote(meta.db_table)} WHERE {quote(meta.get_field('session_key').column)} = %s "
            f"AND {quote(meta.get_field('expire_date').column)} > %s"
        )
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return _Row(row[0])
