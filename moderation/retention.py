"""Every retention rule in one place: the daily ``purge_personal_data`` job (R11, R14, R23).

Moderation sits above reviews and invitations in the import graph, so this module may call
their services without a cycle. Each rule is idempotent: a second run changes nothing.

Pending: R31 (reviews and all data of ended contracts 12 months after the end) needs contracts
from billing; until then it is documented as pending in ``docs/privacy.md``.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from invitations.models import LinkRequest
from invitations.services import invitations_purge_personal_data
from moderation.integrity import integrity_signals_purge
from reviews.services import reviews_purge_unconfirmed

logger = logging.getLogger(__name__)


def link_requests_purge(*, now: datetime.datetime | None = None) -> int:
    """Erase a link request's email 30 days after it was decided or the link was sent (R11)."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)
    # Deliberately cross-tenant: the retention sweep covers every shop.
    return (
        LinkRequest.objects.unscoped()
        .exclude(email="")
        .filter(Q(decided_at__lte=cutoff) | Q(sent_at__lte=cutoff))
        .update(email="", updated_at=now)
    )


def personal_data_purge(now: datetime.datetime | None = None) -> dict[str, int]:
    """Run every retention rule once and return how many rows each rule changed."""
    now = now or timezone.now()
    counts = {
        "invitations": invitations_purge_personal_data(now=now),
        "link_requests": link_requests_purge(now=now),
        "unconfirmed_reviews": reviews_purge_unconfirmed(now=now),
        "integrity_signals": integrity_signals_purge(now=now),
    }
    # Counts only: the retention log carries no personal data (R43).
    logger.info("personal data purged: %s", counts)
    return counts
