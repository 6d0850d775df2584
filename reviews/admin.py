"""Django admin for reviews, company comments and customer dialogue: read-only.

Reviews come from evaluators, never from here. Their status and text change only through the
moderation workbench (``moderation`` admin, "Moderation queue"), which records a reason and a
moderation log entry for every action (R18, R19) and a ``LogEntry`` (TI-5). A review is never
deleted from the admin.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from companies.admin import ReadOnlyInline, ReadOnlyTenantAdmin, TenantInline
from reviews.models import (
    CompanyComment,
    DialogueMessage,
    DialogueThread,
    Review,
    ReviewMedia,
    ReviewVersion,
)


def _workbench(review_id: int):
    # By URL name: the moderation app registers the workbench; reviews does not import it.
    url = reverse("admin:moderation_queuedreview_change", args=[review_id])
    return format_html('<a href="{}">{}</a>', url, _("Moderate"))


class ReviewVersionInline(ReadOnlyInline, TenantInline, admin.TabularInline):
    """The evaluator's earlier texts (R15): history, so nobody edits it."""

    model = ReviewVersion
    fields = ("version", "rating", "comment", "edited_by", "created_at")
    readonly_fields = fields
    ordering = ("version",)
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("edited_by")


@admin.register(Review)
class ReviewAdmin(ReadOnlyTenantAdmin):
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
        "moderate",
    )
    readonly_fields = fields
    # R16: the evaluator's contact for customer dialogue; moderation does not need it.
    personal_fields = ("dialogue_email",)
    inlines = (ReviewVersionInline,)

    @admin.display(description=_("moderation"))
    def moderate(self, obj):
        return _workbench(obj.pk)

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


@admin.register(CompanyComment)
class CompanyCommentAdmin(ReadOnlyTenantAdmin):
    """Companies' public replies (R22); moderators act on them from the review's workbench."""

    list_display = ("id", "review", "status", "version", "shop", "updated_at")
    list_select_related = ("review", "shop")
    list_filter = ("status",)
    search_fields = ("text",)
    raw_id_fields = ("shop", "review", "edited_by")
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None):
        return False


class DialogueMessageInline(ReadOnlyInline, TenantInline, admin.TabularInline):
    model = DialogueMessage
    fields = ("sender", "status", "text", "created_at")
    readonly_fields = fields
    extra = 0


@admin.register(DialogueThread)
class DialogueThreadAdmin(ReadOnlyTenantAdmin):
    """Private customer dialogue (R22): superusers only; moderators see held messages on the
    review's workbench and nothing else of it."""

    list_display = ("id", "review", "status", "ended_by", "shop", "created_at")
    list_select_related = ("review", "shop")
    list_filter = ("status", "ended_by")
    raw_id_fields = ("shop", "review")
    inlines = (DialogueMessageInline,)
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DialogueMessage)
class DialogueMessageAdmin(ReadOnlyTenantAdmin):
    list_display = ("id", "thread", "sender", "status", "shop", "created_at")
    list_select_related = ("thread", "shop")
    list_filter = ("sender", "status")
    raw_id_fields = ("shop", "thread", "author")
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None):
        return False
