"""The suppression list (R6, R41): addresses a shop never invites or reminds again, after a
hard bounce or an unsubscribe. Matched by the address's digest only."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from companies.models import Shop
from invitations.models import Invitation, Suppression, email_digest

logger = logging.getLogger(__name__)

Status = Invitation.Status


def suppression_add(*, shop: Shop, digest: str, reason: str) -> None:
    """Idempotent: the first reason recorded for an address stays."""
    Suppression.objects.for_company(shop.company_id).bulk_create(
        [Suppression(company_id=shop.company_id, shop=shop, email_digest=digest, reason=reason)],
        ignore_conflicts=True,
    )


def address_unsubscribe(*, shop: Shop, digest: str) -> int:
    """One-click unsubscribe (R6, R41): this shop never invites or reminds this address again.

    Scheduled invitations become suppressed; sent ones keep their status and lose their
    remaining reminders. Other shops' invitations for the address are untouched. Returns how
    many invitations changed.
    """
    now = timezone.now()
    manager = Invitation.objects.for_company(shop.company_id)
    with transaction.atomic():
        suppression_add(shop=shop, digest=digest, reason=Suppression.Reason.UNSUBSCRIBED)
        ids = _open_invitation_ids(shop, digest)
        changed = manager.filter(pk__in=ids, status=Status.SCHEDULED).update(
            status=Status.SUPPRESSED,
            suppression_reason=Invitation.SuppressionReason.UNSUBSCRIBED,
            updated_at=now,
        )
        changed += (
            manager.filter(pk__in=ids, status=Status.SENT)
            .exclude(next_reminder_at=None)
            .update(next_reminder_at=None, updated_at=now)
        )
    logger.info("shop %s: an address unsubscribed; %d invitations stopped", shop.pk, changed)
    return changed


def _open_invitation_ids(shop: Shop, digest: str) -> list[int]:
    # Only the digest is known, so the shop's open invitations are matched by theirs.
    rows = (
        Invitation.objects.for_company(shop.company_id)
        .filter(shop=shop, status__in=[Status.SCHEDULED, Status.SENT], used_at__isnull=True)
        .exclude(email="")
        .values_list("pk", "email")
    )
    return [pk for pk, email in rows.iterator(chunk_size=2000) if email_digest(email) == digest]
