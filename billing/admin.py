"""Staff admin for billing: plans are edited here; contracts and invoices are only read."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone

from billing import services
from billing.models import (
    Contract,
    Invoice,
    InvoiceDocument,
    InvoiceLine,
    InvoiceNumberCounter,
    Plan,
    PriceIncrease,
)
from billing.pricing import price_increase_schedule
from billing.upgrades import contract_upgrade
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


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


class ExtraordinaryForm(forms.Form):
    reason = forms.CharField(max_length=500, help_text="the good cause (004 §13.6), logged")


class PriceIncreaseForm(forms.Form):
    new_price = forms.DecimalField(max_digits=12, decimal_places=2)
    effective_on = forms.DateField(help_text="at least 4 weeks from today (R38)")


class UpgradeForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.all())


def _ask(admin_obj, request, queryset, form, action: str, title: str):
    """The intermediate page of a contract action: the form, the contracts, the action name."""
    context = {
        **admin_obj.admin_site.each_context(request),
        "form": form,
        "objects": queryset,
        "action": action,
        "title": title,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": admin_obj.model._meta,
    }
    return TemplateResponse(request, "admin/billing/contract_action.html", context)


def _form(form_class, request):
    return form_class(request.POST if "apply" in request.POST else None)


@admin.register(Contract)
class ContractAdmin(ReadOnlyTenantAdmin):
    """Staff act on contracts only through the services: termination (R33, R39), price
    increases (R38) and upgrades (R40); every refusal names its rule."""

    list_display = ("id", "company", "plan", "status", "starts_on", "current_period_end")
    list_select_related = ("company", "plan")
    list_filter = ("status",)
    actions = ("terminate", "terminate_extraordinary", "schedule_price_increase", "upgrade")

    def has_delete_permission(self, request, obj=None):
        return False

    def _each(self, request, queryset, call) -> None:
        for contract in queryset.select_related("plan"):
            try:
                result = call(contract)
            except (ValidationError, ValueError) as error:
                text = " ".join(getattr(error, "messages", [str(error)]))
                self.message_user(request, f"Contract {contract.pk}: {text}", messages.ERROR)
            else:
                self.message_user(request, f"Contract {contract.pk}: {result}", messages.SUCCESS)

    @admin.action(description="Terminate (ordinary, on the customer's behalf, R33)")
    def terminate(self, request, queryset):
        form = _form(ReasonForm, request)
        if not form.is_valid():
            return _ask(self, request, queryset, form, "terminate", "Terminate (R33)")
        self._each(
            request,
            queryset,
            lambda c: "ends on {:%d.%m.%Y}".format(
                services.contract_terminate(
                    contract=c,
                    requested_on=timezone.localdate(),
                    reason=form.cleaned_data["reason"],
                    kind=Contract.TerminationKind.STAFF,
                ).ends_on
            ),
        )
        return None

    @admin.action(description="Terminate extraordinarily (R39)")
    def terminate_extraordinary(self, request, queryset):
        form = _form(ExtraordinaryForm, request)
        if not form.is_valid():
            title = "Extraordinary termination (R39)"
            return _ask(self, request, queryset, form, "terminate_extraordinary", title)
        self._each(
            request,
            queryset,
            lambda c: services.contract_terminate_extraordinary(
                contract=c,
                reason=form.cleaned_data["reason"],
                today=timezone.localdate(),
                actor=request.user,
            ).get_status_display(),
        )
        return None

    @admin.action(description="Schedule a price increase (R38)")
    def schedule_price_increase(self, request, queryset):
        form = _form(PriceIncreaseForm, request)
        if not form.is_valid():
            title = "Price increase (R38)"
            return _ask(self, request, queryset, form, "schedule_price_increase", title)
        self._each(
            request,
            queryset,
            lambda c: price_increase_schedule(
                contract=c, today=timezone.localdate(), **form.cleaned_data
            ),
        )
        return None

    @admin.action(description="Upgrade to a higher plan (R40)")
    def upgrade(self, request, queryset):
        form = _form(UpgradeForm, request)
        if not form.is_valid():
            return _ask(self, request, queryset, form, "upgrade", "Upgrade (R40)")
        self._each(
            request,
            queryset,
            lambda c: "invoice {}".format(
                contract_upgrade(
                    contract=c, plan=form.cleaned_data["plan"], today=timezone.localdate()
                ).number
            ),
        )
        return None


@admin.register(PriceIncrease)
class PriceIncreaseAdmin(ReadOnlyTenantAdmin):
    list_display = ("contract", "company", "old_price", "new_price", "effective_on")
    list_select_related = ("contract", "company")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InvoiceDocument)
class InvoiceDocumentAdmin(ReadOnlyTenantAdmin):
    list_display = ("invoice", "company", "sha256", "created_at")
    list_select_related = ("invoice", "company")
    exclude = ("pdf",)

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
