"""What a run sets on its Postgres session: an advisory lock per invitation it works on, and
commits that do not wait for the disk.

The locks end with the session, so a redelivered task can tell a dead claimant (lock free) from a
live one (lock held) without waiting for the lease (FA-1, FA-2). Without Postgres (the embedded
SQLite mode) there are no locks and every commit is as usual.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import Iterator

from django.db import DatabaseError, connection

_LOCK_NAMESPACE = zlib.crc32(b"invitations.send") & 0x7FFFFFFF
_LOCK_TRIES = 5  # a killed worker's session ends within milliseconds; wait for it briefly
# The same (namespace, id mod 2^31) keys as pg_try_advisory_lock(int, int) on one invitation.
_LOCK_SQL = (
    "SELECT id FROM unnest(%s::bigint[]) AS id "
    "WHERE pg_try_advisory_lock(%s::integer, mod(id, 2147483648)::integer)"
)
_UNLOCK_SQL = (
    "SELECT pg_advisory_unlock(%s::integer, mod(id, 2147483648)::integer) "
    "FROM unnest(%s::bigint[]) AS id"
)


@contextlib.contextmanager
def invitation_locks(ids: list[int]) -> Iterator[tuple[set[int], bool]]:
    """The ids this run holds and whether that is exclusive (without Postgres: all, and not)."""
    if connection.vendor != "postgresql":
        yield set(ids), False
        return
    held = _try_locks(ids)
    try:
        yield held, True
    finally:
        # A session that died has released its locks already; nothing to undo then.
        if held:
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute(_UNLOCK_SQL, [_LOCK_NAMESPACE, sorted(held)])


def _try_locks(ids: list[int]) -> set[int]:
    held: set[int] = set()
    with connection.cursor() as cursor:
        for attempt in range(_LOCK_TRIES):
            wanted = [pk for pk in ids if pk not in held]
            if not wanted:
                break
            if attempt:
                time.sleep(0.1)
            cursor.execute(_LOCK_SQL, [wanted, _LOCK_NAMESPACE])
            held.update(pk for (pk,) in cursor.fetchall())
    return held


@contextlib.contextmanager
def commits_without_disk_wait() -> Iterator[None]:
    """Commits in the block return before their WAL is on disk (``synchronous_commit`` off).

    For the send records' stamps, one per email: a commit is visible to every session at once,
    so a killed worker loses none of them (FA-1, FA-2 are unchanged). Only a crash of Postgres
    itself can lose the newest stamps (at most ~0.6 s, three ``wal_writer_delay``); those emails
    are then sent once more, with their Message-ID. The batch's last commit is synchronous and
    makes every stamp before it durable.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        # The connection serves other tasks next: never leave the setting behind.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def durable_commit() -> None:
    """In a transaction inside ``commits_without_disk_wait``: this one waits for the disk."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO on")
