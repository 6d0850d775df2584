"""Instants built from local days: "the day after" is a calendar day in the platform's time zone,
never a number of 24-hour steps (those drift by an hour across a change of summer time)."""

import datetime

from django.utils import timezone


def local_time(day: datetime.date, hour: int = 12) -> datetime.datetime:
    """``hour`` o'clock (noon by default) of ``day`` in the current time zone."""
    return datetime.datetime.combine(
        day, datetime.time(hour), tzinfo=timezone.get_current_timezone()
    )
