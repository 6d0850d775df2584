"""Django admin for orders, invitations and rating links: a window for platform staff.

Orders arrive through the ingest services and every order is invited (R5, R8); invitations
move through their status machine with conditional UPDATEs (STYLE.md 3). Editing either here
would bypass both, so staff look at them and do not edit them.
"""

from __future__ import annotations

from django.contrib import admin

from companies.admin import ReadOnlyTenantAdmin, TenantInline
from invitations.models import Invitation, InvitationLink, Order, OrderItem


class OrderItemInline(TenantInline, admin.TabularInline):
    model = OrderItem
    fields = ("product",)
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(Order)
class OrderAdmin(ReadOnlyTenantAdmin):
    list_display = ("order_id", "shop", "ordered_at", "delivered_at", "consent")
    list_select_related = ("shop",)
    list_filter = ("consent", "ordered_at")
    search_fields = ("=order_id", "=shop__slug")
    raw_id_fields = ("shop",)
    # Orders are a big table: skip the second COUNT(*) over all rows on every search.
    show_full_result_count = False
    inlines = (OrderItemInline,)


@admin.register(OrderItem)
class OrderItemAdmin(ReadOnlyTenantAdmin):
    list_display = ("id", "order", "product", "shop")
    list_select_related = ("order", "product", "shop")
    search_fields = ("=order__order_id", "=product__product_id")
    raw_id_fields = ("shop", "order", "product")
    show_full_result_count = False


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyTenantAdmin):
    """The evaluator's email and name are not list columns and not searchable (a search term
    lands in access logs, R43); only superusers see them on the detail page (R11)."""

    list_display = ("id", "shop", "status", "due_at", "sent_at", "reminders_sent", "expires_at")
    list_select_related = ("shop",)
    list_filter = (
        "status",
        ("personal_data_erased_at", admin.EmptyFieldListFilter),
        "due_at",
        "expires_at",
    )
    search_fields = ("=order__order_id", "=shop__slug")
    raw_id_fields = ("shop", "order")
    show_full_result_count = False
    fields = (
        "order",
        "shop",
        "company",
        "status",
        "due_at",
        "sent_at",
        "reminders_sent",
        "next_reminder_at",
        "send_attempts",
        "last_error",
        "used_at",
        "created_at",
        "expires_at",
        "personal_data_erased_at",
        "email",
        "first_name",
        "last_name",
    )
    personal_fields = ("email", "first_name", "last_name")


@admin.register(InvitationLink)
class InvitationLinkAdmin(ReadOnlyTenantAdmin):
    """Links exist only as the SHA-256 of their token (R9); the hash is never shown."""

    list_display = ("id", "invitation", "shop", "purpose", "created_at")
    list_select_related = ("invitation", "shop")
    list_filter = ("purpose",)
    search_fields = ("=invitation__order__order_id",)
    raw_id_fields = ("shop", "invitation")
    show_full_result_count = False
    fields = ("invitation", "shop", "company", "purpose", "created_at")
    secret_fields = ("token_hash",)
