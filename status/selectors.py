"""Reads for the status page and the backend's maintenance notices (R46)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from status.models import HealthCheck, MaintenanceWindow

PROMISED_BASIS_POINTS = 9900  # 99 % a year (004 §3.2)


@dataclass(frozen=True)
class MonthAvailability:
    month: datetime.date
    minutes: int  # minutes of the month up to now
    measured: int  # samples taken
    failed: int  # failed samples outside maintenance
    maintenance: int  # samples inside announced maintenance (excluded, 004 §3.2)

    @property
    def counted(self) -> int:
        return self.measured - self.maintenance

    @property
    def basis_points(self) -> int | None:
        """Availability in hundredths of a percent, rounded down so it never overstates."""
        if self.counted <= 0:
            return None
        return (self.counted - self.failed) * 10000 // self.counted

    @property
    def percent(self) -> str:
        value = self.basis_points
        return "–" if value is None else f"{value // 100}.{value % 100:02d}"

    @property
    def unmeasured(self) -> int:
        return max(self.minutes - self.measured, 0)


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _minutes(start: datetime.date, now: datetime.datetime) -> int:
    tz = timezone.get_current_timezone()
    begin = datetime.datetime.combine(start, datetime.time(), tzinfo=tz)
    end = min(begin + relativedelta(months=1), now)
    return max(int((end - begin).total_seconds() // 60), 0)


def availability_by_month(
    *, months: int = 12, now: datetime.datetime | None = None
) -> list[MonthAvailability]:
    """The last ``months`` calendar months, newest first, in one query over the samples."""
    now = now or timezone.now()
    first = _month_start(timezone.localdate(now)) - relativedelta(months=months - 1)
    since = datetime.datetime.combine(
        first, datetime.time(), tzinfo=timezone.get_current_timezone()
    )
    in_maintenance = MaintenanceWindow.objects.filter(
        cancelled=False, starts_at__lte=OuterRef("checked_at"), ends_at__gt=OuterRef("checked_at")
    )
    rows = (
        HealthCheck.objects.filter(checked_at__gte=since, checked_at__lte=now)
        .annotate(month=TruncMonth("checked_at"), planned=Exists(in_maintenance))
        .values("month")
        .annotate(
            measured=Count("pk"),
            failed=Count("pk", filter=Q(ok=False, planned=False)),
            maintenance=Count("pk", filter=Q(planned=True)),
        )
        .order_by()
    )
    by_month = {timezone.localtime(r["month"]).date(): r for r in rows}
    result = []
    for offset in range(months):
        month = first + relativedelta(months=offset)
        row = by_month.get(month, {})
        result.append(
            MonthAvailability(
                month=month,
                minutes=_minutes(month, now),
                measured=row.get("measured", 0),
                failed=row.get("failed", 0),
                maintenance=row.get("maintenance", 0),
            )
        )
    return list(reversed(result))


def availability_total(months: list[MonthAvailability]) -> MonthAvailability | None:
    """The figure over all shown months, for the yearly 99 % promise."""
    if not months:
        return None
    return MonthAvailability(
        month=months[-1].month,
        minutes=sum(m.minutes for m in months),
        measured=sum(m.measured for m in months),
        failed=sum(m.failed for m in months),
        maintenance=sum(m.maintenance for m in months),
    )


def maintenance_upcoming(*, now: datetime.datetime | None = None, limit: int = 20):
    """Windows not yet over, soonest first."""
    now = now or timezone.now()
    return list(
        MaintenanceWindow.objects.filter(cancelled=False, ends_at__gt=now).order_by("starts_at")[
            :limit
        ]
    )


def maintenance_past(*, now: datetime.datetime | None = None, limit: int = 10):
    now = now or timezone.now()
    return list(
        MaintenanceWindow.objects.filter(cancelled=False, ends_at__lte=now).order_by("-starts_at")[
            :limit
        ]
    )


def health_latest() -> HealthCheck | None:
    return HealthCheck.objects.order_by("-checked_at").first()
