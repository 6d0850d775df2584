"""Reads other apps need from privacy, without importing its services."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from privacy.models import RetentionSettings


def retention_days(company) -> int:
    """The company's retention period for invitation data (R11), or the platform default."""
    company_id = getattr(company, "pk", company)
    return retention_days_for(company_ids=[company_id])[company_id]


def retention_days_for(*, company_ids: Iterable[int]) -> dict[int, int]:
    """Each company's retention period for invitation data (R11), or the platform default, in
    one query: company id -> days, for every id asked about."""
    company_ids = set(company_ids)
    # Deliberately cross-tenant: one read for several companies (a send batch holds many); each
    # answer is keyed by its own company.
    chosen = dict(
        RetentionSettings.objects.unscoped()
        .filter(company_id__in=company_ids)
        .values_list("company_id", "invitation_retention_days")
    )
    default = settings.PERSONAL_DATA_RETENTION_DAYS
    return {company_id: chosen.get(company_id) or default for company_id in company_ids}
