"""Staff admin for maintenance windows (scheduled here) and health samples (read only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils import timezone

from status import services
from status.models import HealthCheck, MaintenanceWindow


class MaintenanceWindowForm(forms.ModelForm):
    class Meta:
        model = MaintenanceWindow
        fields = ("title", "details", "starts_at", "ends_at", "cancelled")

    def clean(self):
        data = super().clean()
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and not data.get("cancelled"):
            # 004 §3.2: the form refuses a long window with less than three days' notice.
            services.maintenance_validate(starts_at=starts_at, ends_at=ends_at, now=timezone.now())
        return data


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    form = MaintenanceWindowForm
    list_display = ("title", "starts_at", "ends_at", "cancelled")
    list_filter = ("cancelled",)

    def save_model(self, request, obj, form, change):
        services.maintenance_schedule(window=obj)


@admin.register(HealthCheck)
class HealthCheckAdmin(admin.ModelAdmin):
    list_display = ("checked_at", "ok", "database", "redis")
    list_filter = ("ok",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
