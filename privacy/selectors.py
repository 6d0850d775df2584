"""Reads other apps need from privacy, without importing its services."""

from __future__ import annotations

from django.conf import settings

from privacy.models import RetentionSettings


def retention_days(company) -> int:
    """The company's retention period for invitation data (R11), or the platform default."""
    company_id = getattr(company, "pk", company)
    days = (
        RetentionSettings.objects.for_company(company_id)
        .values_list("invitation_retention_days", flat=True)
        .first()
    )
    return days or settings.PERSONAL_DATA_RETENTION_DAYS
