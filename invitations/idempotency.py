"""Idempotency keys for API writes (TESTPLAN ID-2; Stripe's semantics).

The first request with a key records it as in flight, runs, and stores its answer. A retry with
the same key and body gets that answer again (``Idempotent-Replayed: true``); the same key with
another body is a 422; a retry while the first is still running is a 409. Keys are per shop and
expire after 24 hours; the order id still deduplicates after that (R5).
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from companies.models import Shop
from invitations.models import IdempotencyKey

KEY_TTL = datetime.timedelta(hours=24)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Claim:
    record: IdempotencyKey | None  # set when this request runs and must store its answer
    replay: IdempotencyKey | None = None  # set when a stored answer must be sent again
    conflict: str = ""  # "in_flight" or "mismatch"


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def idempotency_claim(*, shop: Shop, key: str, fingerprint: str) -> Claim:
    manager = IdempotencyKey.objects.for_company(shop.company_id)
    now = timezone.now()
    manager.filter(shop=shop, key=key, created_at__lt=now - KEY_TTL).delete()
    try:
        with transaction.atomic():
            record = manager.create(
                company_id=shop.company_id, shop=shop, key=key, fingerprint=fingerprint
            )
        return Claim(record=record)
    except IntegrityError:
        existing = manager.filter(shop=shop, key=key).first()
    if existing is None:  # expired and deleted between our statements: treat as new once more
        return idempotency_claim(shop=shop, key=key, fingerprint=fingerprint)
    if existing.fingerprint != fingerprint:
        return Claim(record=None, conflict="mismatch")
    if existing.completed_at is None:
        return Claim(record=None, conflict="in_flight")
    return Claim(record=None, replay=existing)


def idempotency_complete(*, record: IdempotencyKey, status_code: int, body: bytes) -> None:
    IdempotencyKey.objects.for_company(record.company_id).filter(pk=record.pk).update(
        status_code=status_code, response_body=body.decode(), completed_at=timezone.now()
    )


def idempotency_release(*, record: IdempotencyKey) -> None:
    """The request failed before it had an answer: a retry with the key may run again."""
    IdempotencyKey.objects.for_company(record.company_id).filter(pk=record.pk).delete()
