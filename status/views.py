"""The public status page: planned maintenance and measured availability (R46, 004 §3.2)."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from status import selectors


@require_safe
@cache_control(public=True, max_age=60)
def page(request):
    months = selectors.availability_by_month()
    context = {
        "latest": selectors.health_latest(),
        "upcoming": selectors.maintenance_upcoming(),
        "past": selectors.maintenance_past(),
        "months": months,
        "total": selectors.availability_total(months),
        "promised": "99.00",
    }
    return render(request, "public/status.html", context)
