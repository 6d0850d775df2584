"""Send an email at most once per record, however often the task that sends it runs.

A record (a ``companies.models.OutboxRecord``) is claimed before the SMTP call and stamped after
it, with a fixed Message-ID (STYLE.md 4). A claim older than ``LEASE`` was
left by a crashed worker and may be taken over. Addresses are never logged (R43).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

from django.core.mail import EmailMessage
from django.db import models
from django.utils import timezone

logger = logging.getLogger(__name__)
LEASE = datetime.timedelta(minutes=10)


def claim(model: type[models.Model], *, lookup: dict, defaults: dict):
    """The record for ``lookup``, now claimed by this caller, or None if it is done or busy."""
    now = timezone.now()
    Status = model.Status
    defaults = {**defaults, "claimed_at": now}
    record, created = model.objects.get_or_create(**lookup, defaults=defaults)
    if created:
        return record
    if record.status in (Status.SENT, Status.SKIPPED):
        return None
    if record.status == Status.SENDING and record.claimed_at and record.claimed_at > now - LEASE:
        return None
    taken = model.objects.filter(
        pk=record.pk, status=record.status, claimed_at=record.claimed_at
    ).update(status=Status.SENDING, claimed_at=now)
    return record if taken else None


def send_claimed(record, build: Callable[[], EmailMessage | None]) -> str:
    """Build and send the email of a claimed ``record``; "sent", "skipped" or raises."""
    model = type(record)
    Status = model.Status
    attempts = record.attempts + 1
    message = build()
    if message is None:
        model.objects.filter(pk=record.pk).update(
            status=Status.SKIPPED, attempts=attempts, last_error="no recipient"
        )
        return "skipped"
    message.extra_headers["Message-ID"] = record.message_id
    try:
        message.send()
    except Exception as exc:
        model.objects.filter(pk=record.pk).update(
            status=Status.FAILED, attempts=attempts, last_error=f"{type(exc).__name__}"[:300]
        )
        raise
    model.objects.filter(pk=record.pk).update(
        status=Status.SENT, attempts=attempts, sent_at=timezone.now()
    )
    logger.info("%s %s sent", model._meta.label, record.pk)
    return "sent"


def send_once(model, *, lookup: dict, defaults: dict, build) -> str:
    """Claim the record for ``lookup`` and send ``build()``; "already" if it went out before."""
    record = claim(model, lookup=lookup, defaults=defaults)
    if record is None:
        return "already"
    return send_claimed(record, build)
