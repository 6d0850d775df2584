"""Maintenance windows and health samples (R46, 004 §3.2)."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from status.models import NOTICE_AHEAD, HealthCheck, MaintenanceWindow

# Samples older than this are not needed for any month the status page shows.
HEALTH_RETENTION = datetime.timedelta(days=400)


def maintenance_validate(
    *, starts_at: datetime.datetime, ends_at: datetime.datetime, now: datetime.datetime
) -> None:
    """004 §3.2: maintenance longer than three hours needs three days' notice."""
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The window must end after it starts."})
    window = MaintenanceWindow(starts_at=starts_at, ends_at=ends_at)
    if window.is_long and starts_at < now + NOTICE_AHEAD:
        raise ValidationError(
            {
                "starts_at": "Maintenance longer than three hours must be announced at least "
                "three days ahead (004 §3.2): start it later or keep it to three hours."
            }
        )


def maintenance_schedule(
    *, window: MaintenanceWindow, now: datetime.datetime | None = None
) -> MaintenanceWindow:
    """Save a new or moved window; a long one is announced to every company by email."""
    now = now or timezone.now()
    if not window.cancelled:
        maintenance_validate(starts_at=window.starts_at, ends_at=window.ends_at, now=now)
    with transaction.atomic():
        window.save()
        if window.is_long and not window.cancelled:
            from status.tasks import announce_maintenance

            window_id = window.pk
            transaction.on_commit(lambda: announce_maintenance.delay(window_id))
    return window


def health_sample(*, now: datetime.datetime | None = None) -> HealthCheck:
    """Record the checks /healthz runs, once per minute (a second run in the minute is a no-op)."""
    from ekomi.views import _check_database, _check_redis  # the very checks /healthz runs

    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    database, redis = _check_database(), _check_redis()
    sample, _created = HealthCheck.objects.get_or_create(
        checked_at=minute,
        defaults={
            "ok": "down" not in (database, redis),
            "database": database,
            "redis": redis,
        },
    )
    return sample


def health_samples_purge(*, now: datetime.datetime | None = None) -> int:
    now = now or timezone.now()
    deleted, _ = HealthCheck.objects.filter(checked_at__lt=now - HEALTH_RETENTION).delete()
    return deleted
