"""Django admin for reviews: moderators read reviews and change their status or text.

Reviews come from evaluators, never from here; a review is never deleted from the admin (a
deletion needs a recorded reason, R19). Every change made here writes a ``LogEntry`` (TI-5).
"""

from __future__ import annotations

from django.contrib import admin

from companies.admin import ReadOnlyTenantAdmin, TenantAdmin, TenantInline
from reviews.models import Review, ReviewMedia, ReviewVersion


class ReviewVersionInline(TenantInline, admin.TabularInline):
    """The evaluator's earlier texts (R15): history, so nobody edits it."""

    model = ReviewVersion
    fields = ("version", "rating", "comment", "edited_by", "created_at")
    readonly_fields = fields
    ordering = ("version",)
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("edited_by")


@admin.register(Review)
class ReviewAdmin(TenantAdmin):
    list_display = (
        "id",
        "shop",
        "kind",
        "rating",
        "status",
        "is_transaction_based",
        "submitted_at",
    )
    list_select_related = ("shop",)
    list_filter = ("kind", "status", "rating", "is_transaction_based", "submitted_at")
    search_fields = ("comment",)
    raw_id_fields = ("shop", "product", "invitation")
    # Reviews are a big table: skip the second COUNT(*) over all rows on every search.
    show_full_result_count = False
    fields = (
        "shop",
        "company",
        "kind",
        "product",
        "invitation",
        "is_transaction_based",
        "rating",
        "comment",
        "status",
        "version",
        "submitted_at",
        "published_at",
        "deleted_at",
        "dialogue_email",
    )
    readonly_fields = (
        "shop",
        "company",
        "kind",
        "product",
        "invitation",
        "is_transaction_based",
        "rating",
        "version",
        "submitted_at",
        "published_at",
        "deleted_at",
        "dialogue_email",
    )
    # R16: the evaluator's contact for customer dialogue; moderation does not need it.
    personal_fields = ("dialogue_email",)
    inlines = (ReviewVersionInline,)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReviewVersion)
class ReviewVersionAdmin(ReadOnlyTenantAdmin):
    list_display = ("id", "review", "version", "rating", "shop", "created_at")
    list_select_related = ("review", "shop")
    list_filter = ("rating",)
    search_fields = ("comment",)
    raw_id_fields = ("shop", "review", "edited_by")
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReviewMedia)
class ReviewMediaAdmin(ReadOnlyTenantAdmin):
    """Photos and videos of reviews; moderation actions on them come with the moderation queue."""

    list_display = ("id", "review", "kind", "status", "content_type", "size", "shop", "created_at")
    list_select_related = ("review", "shop")
    list_filter = ("kind", "status")
    raw_id_fields = ("shop", "review")
    show_full_result_count = False
