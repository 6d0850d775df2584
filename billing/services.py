"""Billing services: renewals, invoices, collections and dunning (R32-R40)."""

from __future__ import annotations

import datetime
import logging

logger = logging.getLogger(__name__)


def billing_run(*, today: datetime.date | None = None) -> int:
    """The daily billing run. Contracts and invoices arrive with the billing issue; until then
    there is nothing to renew, invoice or collect, and the run reports zero actions."""
    logger.info("billing run: no contracts are managed yet")
    return 0
