"""Django admin for seal statuses and their history: computed values, read-only for staff.

Averages and tiers are a pure function of the reviews (R24-R26); staff change them by
moderating reviews, never by editing the result.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from companies.admin import ReadOnlyTenantAdmin
from seals.models import SealHistory, SealStatus


class SealAdmin(ReadOnlyTenantAdmin):
    list_display = ("shop", "product", "tier", "shown_average", "review_count", "status_as_of")
    list_select_related = ("shop", "product")
    list_filter = ("tier", "status_as_of")
    search_fields = ("shop__name", "=shop__slug", "=product__product_id")
    raw_id_fields = ("shop", "product")
    fields = (
        "shop",
        "company",
        "product",
        "tier",
        "shown_average",
        "review_count",
        "rating_sum",
        "status_as_of",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("average"))
    def shown_average(self, obj):
        return obj.average


@admin.register(SealStatus)
class SealStatusAdmin(SealAdmin):
    pass


@admin.register(SealHistory)
class SealHistoryAdmin(SealAdmin):
    show_full_result_count = False
