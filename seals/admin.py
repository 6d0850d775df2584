"""Django admin for seal statuses and their history: computed values, read-only for staff.

Averages and tiers are a pure function of the reviews (R24-R26); staff change them by
moderating reviews, never by editing the result.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from companies.admin import ReadOnlyTenantAdmin
from companies.models import Shop
from seals import feeds
from seals.models import SealHistory, SealStatus

FEED_ROWS_PER_PAGE = 100


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
    """Adds, per shop, why each review is in or out of the Google feed (until the customer
    backend shows it to the company)."""

    fields = (*SealAdmin.fields, "feed_eligibility")
    readonly_fields = fields

    def get_urls(self):
        view = self.admin_site.admin_view(self.feed_eligibility_view)
        return [
            path("<path:object_id>/feed/", view, name="seals_sealstatus_feed"),
            *super().get_urls(),
        ]

    @admin.display(description=_("Google product-ratings feed"))
    def feed_eligibility(self, obj):
        if obj.pk is None or obj.product_id is not None:
            return "-"
        url = reverse("admin:seals_sealstatus_feed", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Which reviews are in the feed, and why"))

    def feed_eligibility_view(self, request, object_id):
        status = self.get_object(request, object_id)
        if status is None:
            raise Http404("No such seal status.")
        if not self.has_view_permission(request, status):
            raise PermissionDenied
        # Deliberately cross-tenant: staff look at any company's shop from the admin.
        shop = Shop.objects.unscoped().select_related("company").get(pk=status.shop_id)
        page = Paginator(feeds.shop_reviews(shop), FEED_ROWS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Feed eligibility: %(shop)s") % {"shop": shop.name},
            "shop": shop,
            "status": status,
            "page": page,
            "decisions": feeds.feed_decisions(page.object_list),
            "included": len(feeds.feed_reviews(shop=shop)),
            "feed_url": reverse("seals:product-ratings-feed", args=[shop.slug]),
            "max_days": feeds.MAX_DAYS_AFTER_INVITATION,
        }
        return TemplateResponse(request, "admin/seals/feed_eligibility.html", context)


@admin.register(SealHistory)
class SealHistoryAdmin(SealAdmin):
    show_full_result_count = False
