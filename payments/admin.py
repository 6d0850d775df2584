"""Staff admin for payments: payment methods, base rates, payments and returns are entered here;
mandates, pre-notifications, collections, reminders and termination flags are written by
services and only read (or acted on) here."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from billing.models import Invoice
from companies.admin import ReadOnlyTenantAdmin, TenantAdmin
from payments import dunning, services
from payments.collections import collection_build
from payments.models import (
    BaseRate,
    Collection,
    CollectionItem,
    Mandate,
    Payment,
    PaymentMethod,
    PaymentSettings,
    Prenotification,
    Reminder,
    TerminationFlag,
)


@admin.register(PaymentSettings)
class PaymentSettingsAdmin(TenantAdmin):
    """R35: staff approve another payment method than SEPA direct debit (004 §14.2)."""

    list_display = ("company", "method", "approved_by", "approved_at")
    list_select_related = ("company", "approved_by")
    fields = ("company", "method", "approval_note", "approved_by", "approved_at")
    readonly_fields = ("approved_by", "approved_at")

    def save_model(self, request, obj, form, change):
        saved = services.payment_method_approve(
            company=obj.company,
            method=obj.method,
            approved_by=request.user,
            note=obj.approval_note,
        )
        obj.pk, obj.approved_by, obj.approved_at = saved.pk, saved.approved_by, saved.approved_at


@admin.register(Mandate)
class MandateAdmin(ReadOnlyTenantAdmin):
    list_display = ("reference", "company", "status", "signed_on", "revoked_on")
    list_filter = ("status",)
    search_fields = ("reference",)
    personal_fields = ("account_holder", "iban")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BaseRate)
class BaseRateAdmin(admin.ModelAdmin):
    """§ 247 BGB base rate, published by the Bundesbank each 1 January and 1 July (R36)."""

    list_display = ("valid_from", "rate")


@admin.register(Prenotification)
class PrenotificationAdmin(ReadOnlyTenantAdmin):
    list_display = ("invoice", "company", "amount", "collection_date", "notified_on")
    list_select_related = ("company", "invoice")
    actions = ("build_collection",)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Build a pain.008 file for the selected due debits (for tomorrow)")
    def build_collection(self, request, queryset):
        collection = collection_build(
            collection_date=timezone.localdate() + datetime.timedelta(days=1),
            created_by=request.user,
            prenotification_ids=list(queryset.values_list("pk", flat=True)),
        )
        if collection is None:
            self.message_user(request, "Nothing to collect.", messages.WARNING)
            return
        self.message_user(
            request,
            f"Built {collection.message_id}: {collection.count} debits, {collection.total} EUR",
            messages.SUCCESS,
        )


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    fields = ("invoice", "company", "mandate", "amount", "sequence", "end_to_end_id")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        # Deliberately cross-tenant: one file carries every company's debits.
        return CollectionItem.objects.unscoped().select_related("invoice", "company", "mandate")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ("message_id", "collection_date", "count", "total", "created_at")
    fields = ("message_id", "schema", "collection_date", "count", "total", "created_by", "file")
    readonly_fields = fields
    inlines = (CollectionItemInline,)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="pain.008 file")
    def file(self, obj):
        url = reverse("admin:payments_collection_xml", args=[obj.pk])
        return format_html('<a href="{}">{}.xml</a>', url, obj.message_id)

    def get_urls(self):
        xml = self.admin_site.admin_view(self.xml_view)
        return [path("<int:pk>/xml/", xml, name="payments_collection_xml"), *super().get_urls()]

    def xml_view(self, request, pk: int):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        collection = get_object_or_404(Collection, pk=pk)
        response = HttpResponse(collection.xml, content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{collection.message_id}.xml"'
        return response


@admin.register(CollectionItem)
class CollectionItemAdmin(ReadOnlyTenantAdmin):
    list_display = ("end_to_end_id", "company", "invoice", "amount", "sequence")
    list_select_related = ("company", "invoice")

    def has_delete_permission(self, request, obj=None):
        return False


class PaymentForm(forms.ModelForm):
    # Deliberately cross-tenant: staff record payments for every company's invoices.
    invoice = forms.ModelChoiceField(
        queryset=Invoice.objects.unscoped(),
        widget=ForeignKeyRawIdWidget(Payment._meta.get_field("invoice").remote_field, admin.site),
    )
    charge_fee = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Returns only: charge the €20 return fee (004 §14.5) unless the company was "
        "not responsible.",
    )

    class Meta:
        model = Payment
        fields = ("invoice", "kind", "amount", "received_on", "method", "note")


@admin.register(Payment)
class PaymentAdmin(TenantAdmin):
    """Staff record a payment or a returned debit (R36); recorded rows are never edited."""

    form = PaymentForm
    list_display = ("invoice", "company", "kind", "amount", "received_on", "method")
    list_select_related = ("company", "invoice")
    list_filter = ("kind", "method")

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return fields if obj is None else [f for f in fields if f != "charge_fee"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        common = {"invoice": data["invoice"], "amount": data["amount"], "note": data["note"]}
        if data["kind"] == Payment.Kind.RETURN:
            saved = services.payment_return_record(
                **common,
                returned_on=data["received_on"],
                method=data["method"] or PaymentMethod.SEPA,
                charge_fee=data["charge_fee"],
                recorded_by=request.user,
            )
        else:
            saved = services.payment_record(
                **common,
                received_on=data["received_on"],
                method=data["method"],
                recorded_by=request.user,
            )
        obj.pk, obj.company_id = saved.pk, saved.company_id


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyTenantAdmin):
    list_display = ("invoice", "company", "number", "sent_on", "days_overdue", "open_amount")
    list_select_related = ("company", "invoice")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TerminationFlag)
class TerminationFlagAdmin(ReadOnlyTenantAdmin):
    """R39: staff confirm the extraordinary termination of a contract two months in default."""

    list_display = ("contract", "company", "invoice", "flagged_on", "terminated_on")
    list_select_related = ("company", "contract", "invoice")
    list_filter = ("terminated_on",)
    actions = ("confirm_termination",)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Terminate the contract for payment default (R39)")
    def confirm_termination(self, request, queryset):
        for flag in queryset.filter(terminated_on__isnull=True):
            dunning.termination_confirm(flag=flag, today=timezone.localdate(), actor=request.user)
            self.message_user(request, f"Contract {flag.contract_id} terminated", messages.SUCCESS)
