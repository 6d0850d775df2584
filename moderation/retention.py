"""Every retention rule in one place: the daily ``purge_personal_data`` job (R11, R14, R23, R31).

Moderation sits above reviews and invitations in the import graph, so this module may call
their services without a cycle. Each rule is idempotent: a second run changes nothing.

- R11: invitation and link-request email and names, after each company's retention period
  (``privacy.RetentionSettings``, 7 to 90 days; the platform default
  ``PERSONAL_DATA_RETENTION_DAYS`` without a row) after the link expired or was used;
- R14: visitor reviews whose address was never confirmed;
- R23: network sightings after 90 days;
- R31: all data of a company whose last contract ended more than 12 months ago (offboarding,
  ``privacy.offboarding``; invoices stay);
- sign-ups never confirmed within 7 days, with their companies if nobody there confirmed;
- export files 7 days after they were built (``privacy.services``).
"""

from __future__ import annotations

import datetime
import logging

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Max, Q
from django.utils import timezone

from billing.models import Contract
from companies.models import Company, Membership
from invitations.models import Invitation, LinkRequest
from moderation.integrity import integrity_signals_purge
from moderation.models import ModerationLogEntry
from privacy.models import RetentionSettings
from privacy.offboarding import company_offboard
from privacy.services import exports_purge
from reviews.services import reviews_purge_unconfirmed

logger = logging.getLogger(__name__)

CONTRACT_END_RETENTION = relativedelta(months=12)  # R31
SIGNUP_CONFIRMATION_DAYS = 7


def _retention_groups() -> list[tuple[int, Q]]:
    """(days, filter on company) for every retention period in use, the default last."""
    # Deliberately cross-tenant: the retention sweep covers every company.
    custom: dict[int, list[int]] = {}
    for company_id, days in RetentionSettings.objects.unscoped().values_list(
        "company_id", "invitation_retention_days"
    ):
        custom.setdefault(days, []).append(company_id)
    groups = [(days, Q(company_id__in=ids)) for days, ids in sorted(custom.items())]
    everyone_else = ~Q(company_id__in=[c for ids in custom.values() for c in ids])
    groups.append((settings.PERSONAL_DATA_RETENTION_DAYS, everyone_else))
    return groups


def invitations_purge(*, now: datetime.datetime | None = None) -> int:
    """Erase invitation email and names once the link expired or was used + retention (R11).

    The order id stays: it is the only durable, pseudonymous link to the evaluator (000 §3).
    """
    now = now or timezone.now()
    changed = 0
    for days, companies in _retention_groups():
        cutoff = now - datetime.timedelta(days=days)
        # Deliberately cross-tenant: the retention sweep covers every shop.
        changed += (
            Invitation.objects.unscoped()
            .filter(companies, personal_data_erased_at__isnull=True)
            .filter(Q(expires_at__lte=cutoff) | Q(used_at__lte=cutoff))
            .update(
                email="", first_name="", last_name="", personal_data_erased_at=now, updated_at=now
            )
        )
    return changed


def link_requests_purge(*, now: datetime.datetime | None = None) -> int:
    """Erase a link request's email after the retention period from its decision or link (R11)."""
    now = now or timezone.now()
    changed = 0
    for days, companies in _retention_groups():
        cutoff = now - datetime.timedelta(days=days)
        # Deliberately cross-tenant: the retention sweep covers every shop.
        changed += (
            LinkRequest.objects.unscoped()
            .filter(companies)
            .exclude(email="")
            .filter(Q(decided_at__lte=cutoff) | Q(sent_at__lte=cutoff))
            .update(email="", updated_at=now)
        )
    return changed


def ended_companies_purge(*, now: datetime.datetime | None = None) -> int:
    """R31: 12 months after the last contract ended, the company's data goes (invoices stay)."""
    now = now or timezone.now()
    cutoff = timezone.localdate(now) - CONTRACT_END_RETENTION
    # Deliberately cross-tenant: the retention sweep covers every company.
    last_ends = (
        Contract.objects.unscoped()
        .filter(company__status=Company.Status.ENDED)
        .values("company_id")
        .annotate(last_end=Max("ends_on"))
        .filter(last_end__lt=cutoff)
        .values_list("company_id", flat=True)
    )
    return sum(1 for company_id in last_ends if company_offboard(company_id=company_id))


def unconfirmed_signups_purge(*, now: datetime.datetime | None = None) -> int:
    """Sign-ups never confirmed within 7 days go, with their companies if nobody confirmed."""
    now = now or timezone.now()
    User = get_user_model()
    stale = User.objects.filter(
        email_confirmed_at__isnull=True,
        is_staff=False,
        date_joined__lt=now - datetime.timedelta(days=SIGNUP_CONFIRMATION_DAYS),
    )
    # Deliberately cross-tenant: the retention sweep covers every company.
    memberships = Membership.objects.unscoped()
    companies = set(memberships.filter(user__in=stale).values_list("company_id", flat=True))
    confirmed = set(
        memberships.filter(
            company_id__in=companies, user__email_confirmed_at__isnull=False
        ).values_list("company_id", flat=True)
    )
    removed = 0
    for company_id in sorted(companies - confirmed):
        removed += 1
        company_offboard(company_id=company_id)
        kept = (
            Contract.objects.for_company(company_id).exists()
            or ModerationLogEntry.objects.for_company(company_id).exists()
        )
        if not kept:
            Company.objects.filter(pk=company_id).delete()
    # Sign-ups of no company at all (an unconfirmed sign-up's account is inactive).
    _total, per_model = (
        stale.exclude(pk__in=memberships.values("user_id")).filter(is_active=False).delete()
    )
    return removed + per_model.get(User._meta.label, 0)


def personal_data_purge(now: datetime.datetime | None = None) -> dict[str, int]:
    """Run every retention rule once and return how many rows each rule changed."""
    now = now or timezone.now()
    counts = {
        "invitations": invitations_purge(now=now),
        "link_requests": link_requests_purge(now=now),
        "unconfirmed_reviews": reviews_purge_unconfirmed(now=now),
        "integrity_signals": integrity_signals_purge(now=now),
        "ended_companies": ended_companies_purge(now=now),
        "unconfirmed_signups": unconfirmed_signups_purge(now=now),
        "exports": exports_purge(now=now),
    }
    # Counts only: the retention log carries no personal data (R43).
    logger.info("personal data purged: %s", counts)
    return counts
