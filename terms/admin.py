"""Staff admin for offers, terms versions, objections, the fee schedule and sanctions.

Offers and terms versions are written here; what the company agreed to and every sanction
step are written by services and only read.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.utils import timezone

from companies.admin import ReadOnlyTenantAdmin, TenantAdmin
from moderation.models import Reason
from terms import sanctions, services
from terms.models import (
    HandlingFee,
    Offer,
    OfferAcceptance,
    OfferVersion,
    Sanction,
    SanctionStep,
    TermsAcceptance,
    TermsObjection,
    TermsVersion,
)


@admin.register(Offer)
class OfferAdmin(TenantAdmin):
    list_display = ("id", "company", "plan", "start_rule", "status", "created_at")
    list_select_related = ("company", "plan")
    list_filter = ("status",)
    fields = ("company", "plan", "special_terms", "start_rule", "status", "self_service")
    readonly_fields = ("status", "self_service")
    actions = ("send_offer", "withdraw_offer")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status in (Offer.Status.ACCEPTED, Offer.Status.WITHDRAWN):
            return self.fields
        return (*self.readonly_fields, *(("company",) if obj else ()))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and obj.status == Offer.Status.SENT:
            self.message_user(
                request,
                "The offer changed after it was sent: the company cannot accept the old version. "
                "Send it again.",
                messages.WARNING,
            )

    @admin.action(description="Send to the company (a new version if it changed)")
    def send_offer(self, request, queryset):
        for offer in queryset:
            try:
                version = services.offer_send(offer=offer)
            except services.TermsError as exc:
                self.message_user(request, f"Offer {offer.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Offer {offer.pk}: version {version.number} sent.")

    @admin.action(description="Withdraw")
    def withdraw_offer(self, request, queryset):
        for offer in queryset:
            try:
                services.offer_withdraw(offer=offer)
            except services.TermsError as exc:
                self.message_user(request, f"Offer {offer.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Offer {offer.pk} withdrawn.")


@admin.register(OfferVersion)
class OfferVersionAdmin(ReadOnlyTenantAdmin):
    list_display = ("offer", "number", "company", "sent_at", "digest")
    list_select_related = ("company", "offer")


@admin.register(OfferAcceptance)
class OfferAcceptanceAdmin(ReadOnlyTenantAdmin):
    list_display = ("offer", "version", "company", "accepted_by", "accepted_at", "client_network")
    list_select_related = ("company", "offer", "version", "accepted_by")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TermsVersion)
class TermsVersionAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "version", "effective_on", "announced_at")
    list_filter = ("kind",)
    actions = ("announce",)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.announced_at is not None:  # what was announced stays put
            return ("kind", "version", "title", "body", "summary_of_changes", "effective_on")
        return ()

    @admin.action(description="Announce (email every company; objection period starts)")
    def announce(self, request, queryset):
        for version in queryset:
            try:
                services.terms_version_announce(version=version)
            except services.TermsError as exc:
                self.message_user(request, f"{version}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{version} announced.")


@admin.register(TermsAcceptance)
class TermsAcceptanceAdmin(ReadOnlyTenantAdmin):
    list_display = ("company", "version", "how", "accepted_at", "accepted_by")
    list_select_related = ("company", "version", "accepted_by")
    list_filter = ("how",)


@admin.register(TermsObjection)
class TermsObjectionAdmin(ReadOnlyTenantAdmin):
    """R45: staff see who objected to which version."""

    list_display = ("company", "version", "objected_by", "objected_at")
    list_select_related = ("company", "version", "objected_by")
    list_filter = ("version",)


@admin.register(HandlingFee)
class HandlingFeeAdmin(admin.ModelAdmin):
    list_display = ("kind", "amount")


class SanctionWarnForm(forms.ModelForm):
    ground = forms.ChoiceField(choices=[(g, Reason(g).label) for g in sanctions.GROUNDS])
    grace_days = forms.IntegerField(min_value=1, initial=14, help_text="001 §8.2")

    class Meta:
        model = Sanction
        fields = ("company", "ground", "breach")


class SanctionStepForm(forms.Form):
    step = forms.ChoiceField(
        choices=[
            ("restrict", "Restrict access (after the grace period)"),
            ("block", "Block backend access (after the grace period)"),
            ("reinstate", "Reinstate"),
            ("close", "Close the warning (breach ended)"),
        ]
    )
    restrictions = forms.MultipleChoiceField(
        required=False,
        choices=[(a, a.label) for a in sanctions.RESTRICTIONS],
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(widget=forms.Textarea, help_text="sent to the company")
    charge_fee = forms.BooleanField(
        required=False, help_text="handling fee of the schedule (001 §8.4: only if culpable)"
    )


class SanctionStepInline(admin.TabularInline):
    model = SanctionStep
    fields = ("kind", "taken_at", "grace_until", "reason", "actions", "fee_invoice", "actor")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        # Deliberately cross-tenant: staff's tool, as every tenant admin.
        return SanctionStep.objects.unscoped().select_related("fee_invoice", "actor")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Sanction)
class SanctionAdmin(TenantAdmin):
    """Warn here (add); restrict, block, reinstate or close with the action on the list."""

    list_display = ("id", "company", "ground", "stage", "grace_until", "created_at")
    list_filter = ("stage",)
    form = SanctionWarnForm
    inlines = (SanctionStepInline,)
    actions = ("take_step",)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("company", "ground", "breach", "stage", "grace_until")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("company", "ground", "breach", "grace_days")
        return ("company", "ground", "breach", "stage", "grace_until")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change=change, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        created = sanctions.sanction_warn(
            company=form.cleaned_data["company"],
            actor=request.user,
            ground=form.cleaned_data["ground"],
            breach=form.cleaned_data["breach"],
            grace_days=form.cleaned_data["grace_days"],
        )
        obj.pk = created.pk
        obj.company_id = created.company_id

    def save_related(self, request, form, formsets, change):
        """Steps are written by the services only."""

    @admin.action(description="Take the next step (restrict, block, reinstate, close)")
    def take_step(self, request, queryset):
        form = SanctionStepForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            for sanction in queryset:
                self._step(request, sanction, form.cleaned_data)
            return None
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "sanctions": queryset,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/terms/sanction_step.html", context)

    def _step(self, request, sanction, data) -> None:
        common = {"sanction": sanction, "actor": request.user, "reason": data["reason"]}
        now = timezone.now()
        try:
            if data["step"] == "restrict":
                sanctions.sanction_restrict(**common, actions=data["restrictions"], now=now)
            elif data["step"] == "block":
                sanctions.sanction_block(**common, charge_fee=data["charge_fee"], now=now)
            elif data["step"] == "reinstate":
                sanctions.sanction_reinstate(**common, charge_fee=data["charge_fee"], now=now)
            else:
                sanctions.sanction_close(**common, now=now)
        except services.TermsError as exc:
            self.message_user(request, f"Sanction {sanction.pk}: {exc}", messages.ERROR)
        else:
            self.message_user(request, f"Sanction {sanction.pk}: done, the company is told.")


@admin.register(SanctionStep)
class SanctionStepAdmin(ReadOnlyTenantAdmin):
    list_display = ("sanction", "kind", "company", "taken_at", "grace_until", "fee_invoice")
    list_select_related = ("company", "sanction", "fee_invoice")

    def has_delete_permission(self, request, obj=None):
        return False
