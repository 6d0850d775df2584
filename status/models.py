"""Maintenance windows and the platform's own health samples (R46, 004 §3.2)."""

from __future__ import annotations

import datetime

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

# 004 §3.2: maintenance foreseeably longer than three hours is announced three days ahead.
LONG_MAINTENANCE = datetime.timedelta(hours=3)
NOTICE_AHEAD = datetime.timedelta(days=3)


class MaintenanceWindow(models.Model):
    """Planned downtime for maintenance or software updates, scheduled by staff."""

    title = models.CharField(max_length=200)
    details = models.TextField(blank=True, help_text="public: shown on the status page")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    cancelled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="maintenance_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def duration(self) -> datetime.timedelta:
        return self.ends_at - self.starts_at

    @property
    def is_long(self) -> bool:
        return self.duration > LONG_MAINTENANCE

    @property
    def announcement_key(self) -> str:
        # A moved window is announced again: the key names its times.
        return f"maintenance:{self.pk}:{int(self.starts_at.timestamp())}-" + str(
            int(self.ends_at.timestamp())
        )


class HealthCheck(models.Model):
    """One sample of the checks /healthz runs, taken every minute by the beat sampler."""

    checked_at = models.DateTimeField(unique=True)
    ok = models.BooleanField()
    database = models.CharField(max_length=20)
    redis = models.CharField(max_length=20)

    class Meta:
        ordering = ["-checked_at"]
        verbose_name = _("health check")

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'down'}"
