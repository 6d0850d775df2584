"""Staff admin for billing: plans are edited here; contracts and invoices are only read."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse

from billing import services
from billing.models import Contract, Invoice, InvoiceLine, InvoiceNumberCounter, Plan
from companies.admin import ReadOnlyTenantAdmin


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "price_per_period", "period_months", "minimum_term_months")


@admin.register(InvoiceNumberCounter)
class InvoiceNumberCounterAdmin(admin.ModelAdmin):
    list_display = ("year", "last_number")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Contract)
class ContractAdmin(ReadOnlyTenantAdmin):
    list_display = ("id", "company", "plan", "status", "starts_on", "current_period_end")
    list_select_related = ("company", "plan")
    list_filter = ("status",)

    def has_delete_permission(self, request, obj=None):
        return False


class CreditNoteForm(forms.Form):
    reason = forms.CharField(max_length=500)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyTenantAdmin):
    list_display = ("number", "company", "kind", "issued_on", "net", "gross", "vat_treatment")
    list_select_related = ("company",)
    list_filter = ("kind", "vat_treatment")
    actions = ("issue_credit_note",)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Issue credit note")
    def issue_credit_note(self, request, queryset):
        form = CreditNoteForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            for invoice in queryset.filter(kind=Invoice.Kind.INVOICE):
                note = services.credit_note_issue(
                    invoice=invoice, reason=form.cleaned_data["reason"]
                )
                self.message_user(request, f"Issued {note.number}", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "invoices": queryset,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/credit_note.html", context)


@admin.register(InvoiceLine)
class InvoiceLineAdmin(ReadOnlyTenantAdmin):
    list_display = ("description", "invoice", "company", "net")
    list_select_related = ("invoice", "company")

    def has_delete_permission(self, request, obj=None):
        return False
