from django.contrib import admin

from companies.admin import ReadOnlyTenantAdmin, TenantAdmin
from privacy.models import DataExport, RetentionSettings


@admin.register(DataExport)
class DataExportAdmin(ReadOnlyTenantAdmin):
    """Exports are written by ``privacy.services``; staff look, the owner downloads."""

    list_display = ("public_id", "company", "kind", "status", "created_at", "expires_at")
    list_select_related = ("company",)
    list_filter = ("kind", "status")
    personal_fields = ("subject_order_id", "subject_email")


@admin.register(RetentionSettings)
class RetentionSettingsAdmin(TenantAdmin):
    list_display = ("company", "invitation_retention_days")
    list_select_related = ("company",)
