"""Tip dismissals are written by the backend only: staff look, never edit (R48)."""

from __future__ import annotations

from django.contrib import admin

from companies.admin import ReadOnlyTenantAdmin
from guidance.models import TipDismissal


@admin.register(TipDismissal)
class TipDismissalAdmin(ReadOnlyTenantAdmin):
    list_display = ("tip", "shop", "user", "company", "created_at")
    list_select_related = ("shop", "user", "company")
    list_filter = ("tip",)
    search_fields = ("shop__name", "=user__email")
    raw_id_fields = ("shop", "user")
