"""The moderation log's hash chain (R19): append an entry, verify the chain.

Each entry's ``hash`` is ``sha256(prev_hash + canonical JSON of the entry)``; the first entry's
``prev_hash`` is 64 zeros. Appends are serialized by a transaction-level advisory lock on
Postgres, so two moderators acting at once cannot fork the chain. Verification walks the log in
id order and names the first entry whose link or content does not match.

Snapshots keep only a pseudonymous reference to what an evaluator or a company wrote (R42,
R43): the values of ``PERSONAL_KEYS`` are stored as ``text_digest`` (a keyed SHA-256), so staff
can check "was it this text?" but the log never holds the text, a name or an address. A company
user acting is named by id; only staff are named by their email.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from moderation.models import ModerationLogEntry

GENESIS = "0" * 64
# Any constant: the key of the advisory lock that serializes appends to the chain.
_CHAIN_LOCK = 0x6D6F646C6F67  # "modlog"
SYSTEM = "system"
# Snapshot keys whose values are personal (review text, names, addresses): stored as digests.
PERSONAL_KEYS = frozenset(
    {
        "comment",
        "text",
        "submitted_text",
        "statement",
        "display_name",
        "email",
        "dialogue_email",
        "author_email",
        "complainant_email",
        "first_name",
        "last_name",
    }
)
DIGEST_PREFIX = "sha256:"
_DIGEST_SALT = "moderation.log.text_digest"


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat()


def payload(entry: ModerationLogEntry) -> dict:
    """Everything an entry says, as plain JSON values (the hashed content)."""
    return {
        "company": entry.company_id,
        "shop": entry.shop_id,
        "actor": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "reason": entry.reason,
        "justification": entry.justification,
        "before": entry.before,
        "after": entry.after,
        "acted_at": _utc(entry.acted_at),
    }


def entry_hash(prev_hash: str, entry: ModerationLogEntry) -> str:
    return hashlib.sha256((prev_hash + canonical(payload(entry))).encode()).hexdigest()


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])


def plain(value):
    """Dates and times as ISO strings, so a snapshot reads back from JSON exactly as written."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return _utc(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def text_digest(value: str) -> str:
    """The pseudonymous stand-in for a personal value in a snapshot (keyed SHA-256)."""
    digest = salted_hmac(_DIGEST_SALT, value, algorithm="sha256").hexdigest()
    return DIGEST_PREFIX + digest


def pseudonymise(value):
    """``value`` with every personal key's non-empty string replaced by its digest."""
    if isinstance(value, dict):
        return {
            key: (
                text_digest(item)
                if key in PERSONAL_KEYS and isinstance(item, str) and item
                else pseudonymise(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [pseudonymise(item) for item in value]
    return value


def actor_label(actor) -> str:
    """Staff by their email; a company user by id only (their address leaves with them, R43)."""
    if actor is None:
        return SYSTEM
    if getattr(actor, "is_staff", False):
        return actor.email or SYSTEM
    return f"user {actor.pk}"


def log_append(
    *,
    company_id: int,
    action: str,
    target_type: str,
    target_id: int,
    actor=None,
    shop_id: int | None = None,
    reason: str = "",
    justification: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> ModerationLogEntry:
    """Append one entry to the chain; part of the caller's transaction."""
    with transaction.atomic():
        _lock_chain()
        # Deliberately cross-tenant: the chain runs through every company's entries.
        previous = (
            ModerationLogEntry.objects.unscoped().order_by("-id").values_list("hash", flat=True)
        ).first() or GENESIS
        entry = ModerationLogEntry(
            company_id=company_id,
            shop_id=shop_id,
            actor=actor,
            actor_label=actor_label(actor),
            action=action,
            target_type=target_type,
            target_id=target_id,
            reason=reason,
            justification=justification,
            before=plain(pseudonymise(before or {})),
            after=plain(pseudonymise(after or {})),
            acted_at=timezone.now(),
            prev_hash=previous,
        )
        entry.hash = entry_hash(previous, entry)
        entry.save()
    return entry


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None = None  # id of the first entry that does not fit
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def log_verify() -> ChainReport:
    """Walk the whole chain; report the first entry whose link or content is wrong."""
    previous = GENESIS
    checked = 0
    # Deliberately cross-tenant: the chain runs through every company's entries.
    for entry in ModerationLogEntry.objects.unscoped().order_by("id").iterator(chunk_size=1000):
        if entry.prev_hash != previous:
            return ChainReport(checked, entry.pk, "its link does not match the entry before it")
        if entry_hash(previous, entry) != entry.hash:
            return ChainReport(checked, entry.pk, "its content does not match its hash")
        previous = entry.hash
        checked += 1
    return ChainReport(checked)
