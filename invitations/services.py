"""Writes for orders and invitations: expiry and retention (R9, R11).

Sending lives in ``invitations.sending``; ingest in ``invitations.ingest``.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from invitations.models import Invitation


def invitations_expire(*, now: datetime.datetime | None = None) -> int:
    """Disable every link six months after creation (R9): one idempotent UPDATE."""
    now = now or timezone.now()
    # Deliberately cross-tenant: the expiry sweep covers every shop.
    return (
        Invitation.objects.unscoped()
        .filter(expires_at__lte=now)
        .exclude(status=Invitation.Status.EXPIRED)
        .update(status=Invitation.Status.EXPIRED, updated_at=now)
    )


def invitations_purge_personal_data(*, now: datetime.datetime | None = None) -> int:
    """Erase invitation email and name once the link expired or was used, plus retention (R11).

    The order id stays: it is the only durable, pseudonymous link to the evaluator (000 §3).
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)
    # Deliberately cross-tenant: the retention sweep covers every shop.
    return (
        Invitation.objects.unscoped()
        .filter(personal_data_erased_at__isnull=True)
        .filter(Q(expires_at__lte=cutoff) | Q(used_at__lte=cutoff))
        .update(
            email="",
            first_name="",
            last_name="",
            personal_data_erased_at=now,
            updated_at=now,
        )
    )
