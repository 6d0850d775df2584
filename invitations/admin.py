"""Django admin for orders, invitations and their emails: a window for platform staff.

Orders arrive through the ingest services and every order is invited (R5, R8); invitations
move through their status machine with conditional UPDATEs (STYLE.md 3). Editing either here
would bypass both, so staff look at them and do not edit them. The same holds for the send
records, the suppression list, idempotency keys and CSV imports. Only a shop's email templates
are edited here.

A rating link's token is never stored; its nonce and hash are (R9, AU-1) and neither is ever
rendered. Suppressions keep only a keyed digest of the address, which is not shown either.
"""

from __future__ import annotations

from django.contrib import admin

from companies.admin import ReadOnlyInline, ReadOnlyTenantAdmin, TenantAdmin, TenantInline
from invitations.models import (
    EmailTemplate,
    IdempotencyKey,
    Invitation,
    InvitationEmail,
    LinkRequest,
    Order,
    OrderImport,
    OrderItem,
    Suppression,
)


class OrderItemInline(ReadOnlyInline, TenantInline, admin.TabularInline):
    model = OrderItem
    fields = ("product",)
    readonly_fields = fields
    extra = 0

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


class InvitationEmailInline(ReadOnlyInline, TenantInline, admin.TabularInline):
    """The send history of an invitation: the invitation email and its reminders."""

    model = InvitationEmail
    fields = ("kind", "status", "attempts", "sent_at", "message_id", "last_error")
    readonly_fields = fields
    ordering = ("created_at",)
    extra = 0


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyTenantAdmin):
    """The evaluator's email and name are not list columns and not searchable (a search term
    lands in access logs, R43); only superusers see them on the detail page (R11)."""

    list_display = ("id", "shop", "status", "due_at", "sent_at", "reminders_sent", "expires_at")
    list_select_related = ("shop",)
    list_filter = (
        "status",
        "suppression_reason",
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
        "public_id",
        "status",
        "suppression_reason",
        "due_at",
        "claimed_at",
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
    # The rating link can be derived from the nonce and looked up by the hash (R9, AU-1).
    secret_fields = ("token_hash", "token_nonce")
    inlines = (InvitationEmailInline,)


@admin.register(InvitationEmail)
class InvitationEmailAdmin(ReadOnlyTenantAdmin):
    """One row per email sent for an invitation; written only by the sender (ID-4)."""

    list_display = ("id", "invitation", "kind", "status", "attempts", "sent_at")
    list_select_related = ("invitation",)
    list_filter = ("kind", "status")
    search_fields = ("=invitation__order__order_id", "=shop__slug")
    raw_id_fields = ("shop", "invitation")
    show_full_result_count = False
    fields = (
        "invitation",
        "shop",
        "company",
        "kind",
        "status",
        "message_id",
        "attempts",
        "claimed_at",
        "sent_at",
        "last_error",
        "created_at",
        "updated_at",
    )


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyTenantAdmin):
    """Addresses a shop must not invite (R6), kept as a keyed digest that is never shown: in
    the page it would let anyone holding the list test guessed addresses against it."""

    list_display = ("id", "shop", "reason", "created_at")
    list_select_related = ("shop",)
    list_filter = ("reason",)
    search_fields = ("=shop__slug",)
    raw_id_fields = ("shop",)
    show_full_result_count = False
    fields = ("shop", "company", "reason", "created_at", "updated_at")
    secret_fields = ("email_digest",)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyTenantAdmin):
    """The first answer to an API write sent with an ``Idempotency-Key`` (ID-2).

    The stored answer is never rendered: an order's answer carries its rating link (R9).
    """

    list_display = ("id", "shop", "key", "status_code", "created_at", "completed_at")
    list_select_related = ("shop",)
    list_filter = ("status_code", ("completed_at", admin.EmptyFieldListFilter))
    search_fields = ("=key", "=shop__slug")
    raw_id_fields = ("shop",)
    show_full_result_count = False
    fields = (
        "shop",
        "company",
        "key",
        "fingerprint",
        "status_code",
        "created_at",
        "completed_at",
    )
    secret_fields = ("response_body",)


@admin.register(OrderImport)
class OrderImportAdmin(ReadOnlyTenantAdmin):
    """CSV imports of orders and their per-line reports (IN-3, ID-3). The uploaded file and the
    rejected lines carry evaluators' addresses and names: superusers only, as on invitations."""

    list_display = (
        "public_id",
        "shop",
        "status",
        "rows_total",
        "rows_processed",
        "orders_created",
        "rows_rejected",
        "created_at",
    )
    list_select_related = ("shop",)
    list_filter = ("status", "created_at")
    search_fields = ("=shop__slug", "original_name")
    raw_id_fields = ("shop",)
    show_full_result_count = False
    fields = (
        "public_id",
        "shop",
        "company",
        "original_name",
        "source",
        "status",
        "rows_total",
        "rows_processed",
        "orders_created",
        "orders_known",
        "rows_rejected",
        "report_sample",
        "report",
        "error",
        "created_at",
        "finished_at",
    )
    personal_fields = ("source", "report_sample", "report")


@admin.register(EmailTemplate)
class EmailTemplateAdmin(TenantAdmin):
    """A shop's own subject and text per kind of email and language; staff may correct them."""

    list_display = ("shop", "kind", "locale", "subject", "updated_at")
    list_select_related = ("shop",)
    list_filter = ("kind", "locale")
    search_fields = ("=shop__slug", "subject")
    raw_id_fields = ("shop",)
    fields = ("shop", "kind", "locale", "subject", "body")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.company_id = obj.shop.company_id  # a template belongs to its shop's company
        super().save_model(request, obj, form, change)


@admin.register(LinkRequest)
class LinkRequestAdmin(ReadOnlyTenantAdmin):
    """R10: requests for a rating link; staff decide the ones that could not be matched."""

    list_display = ("id", "shop", "order_reference", "status", "created_at", "decided_at")
    list_select_related = ("shop",)
    list_filter = ("status",)
    search_fields = ("=order_reference",)
    raw_id_fields = ("shop", "order", "decided_by")
    show_full_result_count = False
    fields = (
        "shop",
        "company",
        "order_reference",
        "order",
        "status",
        "message",
        "evidence_file",
        "created_at",
        "decided_by",
        "decided_at",
        "sent_at",
        "email",
    )
    readonly_fields = fields
    personal_fields = ("email",)
    actions = ("approve", "reject")

    @admin.display(description="evidence")
    def evidence_file(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html

        if not obj.evidence:
            return "—"
        url = reverse("admin:invitations_linkrequest_evidence", args=[obj.pk])
        return format_html('<a href="{}">download ({} bytes)</a>', url, obj.evidence.size)

    def get_urls(self):
        from django.urls import path

        view = self.admin_site.admin_view(self.evidence_view)
        return [
            path("<int:pk>/evidence/", view, name="invitations_linkrequest_evidence"),
            *super().get_urls(),
        ]

    def evidence_view(self, request, pk: int):
        from django.http import FileResponse, Http404

        if not self.has_view_permission(request):
            raise Http404
        # Deliberately cross-tenant: staff review evidence of every company.
        obj = LinkRequest.objects.unscoped().filter(pk=pk).first()
        if obj is None or not obj.evidence:
            raise Http404
        response = FileResponse(obj.evidence.open("rb"), as_attachment=True, filename="evidence")
        response["Cache-Control"] = "no-store"
        return response

    def has_change_permission(self, request, obj=None):
        # The approve/reject actions need it; the form itself has only read-only fields.
        return request.user.is_active and request.user.is_superuser

    @admin.action(description="Approve: send the rating link (creates the order if unknown)")
    def approve(self, request, queryset):
        from invitations.link_requests import link_request_approve

        pending = queryset.filter(status=LinkRequest.Status.PENDING)
        for pk in pending.values_list("pk", flat=True):
            link_request_approve(link_request_id=pk, staff_user=request.user)
        self.message_user(request, f"{len(pending)} request(s) approved; links are on their way.")

    @admin.action(description="Reject")
    def reject(self, request, queryset):
        from invitations.link_requests import link_request_reject

        pending = list(
            queryset.filter(status=LinkRequest.Status.PENDING).values_list("pk", flat=True)
        )
        for pk in pending:
            link_request_reject(link_request_id=pk, staff_user=request.user)
        self.message_user(request, f"{len(pending)} request(s) rejected.")
