"""Sending invitations and reminders: the invitation table is the outbox (R7, TESTPLAN FA-3)."""

from __future__ import annotations

import datetime
import logging

logger = logging.getLogger(__name__)


def invitations_send_due(*, now: datetime.datetime | None = None) -> int:
    """Queue every due invitation and reminder. The email pipeline (templates, send records,
    retries) arrives with the order-ingest issue; until then nothing is queued."""
    logger.info("invitation sweep: the email pipeline is not installed yet")
    return 0
