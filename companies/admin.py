"""Django admin for platform staff: users, companies, memberships, shops, API keys, products.

Staff work across every company, so tenant admins read through ``unscoped()`` (STYLE.md 5).
Rows that carry a secret or start a process (shops with interface credentials, API keys,
products fed by the API) are created by their services, not here; the admin never shows a
stored hash.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import models
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from companies.models import (
    ApiKey,
    Company,
    CompanyEmail,
    Membership,
    NewsletterConsent,
    NotificationPreference,
    Product,
    SettingsRequest,
    Shop,
    User,
)
from companies.services import api_key_revoke
from companies.services_settings import (
    RequestNotPending,
    settings_request_approve,
    settings_request_refuse,
)
from companies.tenancy import TenantManager

TENANT_FIELDS = ("company", "shop")


def _unscoped_queryset(model_admin, request):
    # Deliberately cross-tenant: Django admin is the platform staff's tool and staff work on
    # every company's rows. The middleware disables scopes for staff under /admin/ as well;
    # reading through unscoped() keeps the admin working when called outside that request.
    queryset = model_admin.model.objects.unscoped()
    ordering = model_admin.get_ordering(request)
    if ordering:
        queryset = queryset.order_by(*ordering)
    return queryset


def _tenant_choices(db_field, kwargs):
    manager = db_field.related_model._default_manager
    if "queryset" not in kwargs and isinstance(manager, TenantManager):
        # Deliberately cross-tenant, as above: the choices of a tenant foreign key.
        kwargs["queryset"] = manager.unscoped()
    return kwargs


class TenantAdmin(admin.ModelAdmin):
    """Base for the admin of every tenant model (``companies.tenancy.TenantModel``).

    Subclasses set ``list_select_related`` to the foreign keys their list shows, so a
    changelist costs the same few queries whatever the page size. A row never moves to another
    company or shop from here: ``company`` and ``shop`` are read-only on change.

    ``secret_fields`` (stored hashes) are never rendered, edited or usable as a changelist
    filter. ``personal_fields`` (an evaluator's personal data, R11/R16) are shown to
    superusers only: moderators do their work without them.
    """

    list_select_related: tuple[str, ...] = ("company",)
    list_per_page = 50
    # Shops' websites and product links: a bare "example.com" means https (Django 6 default).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    secret_fields: tuple[str, ...] = ()
    personal_fields: tuple[str, ...] = ()

    def get_queryset(self, request):
        return _unscoped_queryset(self, request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = _tenant_choices(db_field, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_exclude(self, request, obj=None):
        return (*(super().get_exclude(request, obj) or ()), *self.secret_fields)

    def get_fields(self, request, obj=None):
        hidden = set(self.secret_fields)
        if not request.user.is_superuser:
            hidden.update(self.personal_fields)
        return [f for f in super().get_fields(request, obj) if f not in hidden]

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        model_fields = {field.name for field in self.model._meta.get_fields()}
        pinned = tuple(f for f in TENANT_FIELDS if f in model_fields and f not in readonly)
        return readonly + pinned

    def lookup_allowed(self, lookup, value, request=None):
        # A filter on a hash (?key_hash__startswith=...) would make the changelist an oracle.
        if lookup.split("__")[0] in self.secret_fields:
            return False
        return super().lookup_allowed(lookup, value, request)


class ReadOnlyTenantAdmin(TenantAdmin):
    """Rows written only by services (status machines, computed values): staff look, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyInline:
    """Mixin for inlines that only show rows written by services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TenantInline:
    """Mixin for inlines of tenant models: the same deliberate cross-tenant read."""

    def get_queryset(self, request):
        queryset = _unscoped_queryset(self, request)
        if not self.has_view_or_change_permission(request):
            queryset = queryset.none()
        return queryset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = _tenant_choices(db_field, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- Users ------------------------------------------------------------------------------------


class EmailLoginFormMixin:
    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        # The manager stores addresses lower-cased; refuse a second login differing in case.
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("A user with that email address already exists."))
        return email


class StaffUserCreationForm(EmailLoginFormMixin, AdminUserCreationForm):
    """Django's add-user form with the email address as the login (no username)."""

    class Meta:
        model = User
        fields = ("email",)


class StaffUserChangeForm(EmailLoginFormMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class UserMembershipInline(TenantInline, admin.TabularInline):
    model = Membership
    fk_name = "user"
    fields = ("company", "role", "created_at")
    readonly_fields = ("created_at",)
    raw_id_fields = ("company",)
    extra = 0


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Company staff and platform staff; the email address is the login (R2)."""

    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email_confirmed_at")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    list_display = ("email", "first_name", "last_name", "is_staff", "is_superuser", "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    inlines = (UserMembershipInline,)

    def get_inlines(self, request, obj):
        # Django's add-user page is a short first step; memberships follow on the change page.
        return self.inlines if obj is not None else ()


# --- Companies and their shops ----------------------------------------------------------------


class CompanyMembershipInline(TenantInline, admin.TabularInline):
    model = Membership
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    raw_id_fields = ("user",)
    extra = 0


class CompanyShopInline(ReadOnlyInline, TenantInline, admin.TabularInline):
    model = Shop
    fields = ("name", "slug", "interface_id", "went_live_at")
    readonly_fields = fields
    show_change_link = True
    extra = 0


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "vat_id", "status", "created_at")
    list_filter = ("status", "country")
    search_fields = ("name", "vat_id")
    # Blocking backend access (R30) goes through "Shop enforcement", with a reason and a log
    # entry; the status is not edited here.
    readonly_fields = ("status", "created_at", "updated_at")
    inlines = (CompanyShopInline, CompanyMembershipInline)


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ("user", "company", "role", "created_at")
    list_select_related = ("user", "company")
    list_filter = ("role",)
    search_fields = ("user__email", "company__name")
    raw_id_fields = ("user", "company")
    readonly_fields = ("created_at", "updated_at")


@admin.register(Shop)
class ShopAdmin(TenantAdmin):
    """Shop settings. Shops are created with ``shop_create`` (it hands out the interface
    password once); the stored hash of that password is never shown."""

    list_display = ("name", "slug", "company", "interface_id", "went_live_at")
    list_select_related = ("company",)
    list_filter = (
        "non_transaction_reviews_enabled",
        "delay_basis",
        "media_published_without_moderator",
    )
    search_fields = ("name", "slug", "interface_id")
    raw_id_fields = ("company",)
    secret_fields = ("interface_password_hash",)
    # R30: enforcement flags change only through "Shop enforcement" (moderation), which asks
    # for a reason, writes the moderation log and retires the shop's public caches.
    readonly_fields = (
        "interface_id",
        "interface_password",
        "went_live_at",
        "public_pages_disabled",
        "ratings_stopped",
        "seal_state",
        "enforcement",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("enforcement"))
    def enforcement(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:moderation_shopenforcement_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Enforcement actions (R30)"))

    @admin.display(description=_("interface password"))
    def interface_password(self, obj):
        if obj.interface_password_hash:
            return _("set (stored hashed; a new one is issued by rotation)")
        return _("not set")


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdmin):
    """API keys are created with ``api_key_create`` (shown once); here staff see and revoke them."""

    list_display = (
        "prefix",
        "name",
        "shop",
        "company",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_select_related = ("shop", "company")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "last_used_at")
    search_fields = ("=prefix", "name", "shop__slug")
    fields = (
        "prefix",
        "name",
        "shop",
        "company",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = (
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    raw_id_fields = ("shop", "company")
    secret_fields = ("key_hash",)
    actions = ("revoke_keys",)

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke selected keys"), permissions=["change"])
    def revoke_keys(self, request, queryset):
        active = list(queryset.filter(revoked_at__isnull=True))
        for api_key in active:
            api_key_revoke(api_key=api_key)
        count = len(active)
        self.message_user(
            request,
            ngettext("Revoked %(count)d API key.", "Revoked %(count)d API keys.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(CompanyEmail)
class CompanyEmailAdmin(ReadOnlyTenantAdmin):
    """Emails to companies (billing, notices): sent once, recorded for support."""

    list_display = ("key", "status", "attempts", "sent_at", "company")
    list_filter = ("status",)
    list_select_related = ("company",)
    search_fields = ("=key",)
    raw_id_fields = ("company",)


@admin.register(Product)
class ProductAdmin(TenantAdmin):
    """Catalogue entries arrive with orders or ``product_upsert``; staff may correct details."""

    list_display = ("name", "product_id", "brand", "gtin", "shop", "company")
    list_select_related = ("shop", "company")
    search_fields = ("name", "=product_id", "=gtin", "brand")
    raw_id_fields = ("shop", "company")
    readonly_fields = ("product_id", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False


# --- Settings: notifications, newsletter consent, requests needing staff (R8, R41) ------------


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyTenantAdmin):
    """Each user's own choices, made in the backend or by a one-click unsubscribe link."""

    list_display = ("user", "company", "new_review", "low_rating", "weekly_digest", "updated_at")
    list_select_related = ("user", "company")
    list_filter = ("new_review", "low_rating", "weekly_digest")
    search_fields = ("user__email", "company__name")
    raw_id_fields = ("user", "company")


@admin.register(NewsletterConsent)
class NewsletterConsentAdmin(admin.ModelAdmin):
    """The consent record (R41, 000 §5): append-only, written by the opt-in and opt-out."""

    list_display = ("user", "given_at", "source", "withdrawn_at", "withdrawal_source")
    list_select_related = ("user",)
    list_filter = ("source", ("withdrawn_at", admin.EmptyFieldListFilter))
    search_fields = ("user__email",)
    raw_id_fields = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SettingsRequestActionForm(ActionForm):
    decision_note = forms.CharField(
        label=_("Note to the company (required to refuse)"), required=False, max_length=2000
    )


@admin.register(SettingsRequest)
class SettingsRequestAdmin(ReadOnlyTenantAdmin):
    """R8, 004 §6.5, §6.9: staff approve (which applies it to the shop) or refuse a company's
    request to pause invitations or to define a selection group; the company is emailed."""

    list_display = (
        "kind",
        "status",
        "shop",
        "company",
        "pause_from",
        "pause_until",
        "created_at",
        "decided_at",
    )
    list_select_related = ("shop", "company")
    list_filter = ("status", "kind")
    search_fields = ("shop__name", "shop__slug", "company__name")
    raw_id_fields = ("shop", "company", "requested_by", "decided_by")
    action_form = SettingsRequestActionForm
    actions = ("approve_requests", "refuse_requests")

    def has_decide_permission(self, request):
        return request.user.has_perm("companies.change_settingsrequest")

    def _note(self, request) -> str:
        return (request.POST.get("decision_note") or "").strip()[:2000]

    def _each_pending(self, request, queryset, decide) -> int:
        done = 0
        for row in queryset.filter(status=SettingsRequest.Status.PENDING).order_by("pk"):
            try:
                decide(row)
            except RequestNotPending:
                continue
            done += 1
            self.log_change(request, row, f"settings request {row.kind}: {row.status}")
        return done

    @admin.action(description=_("Approve and apply to the shop"), permissions=["decide"])
    def approve_requests(self, request, queryset):
        note = self._note(request)
        count = self._each_pending(
            request,
            queryset,
            lambda row: settings_request_approve(
                settings_request=row, staff=request.user, note=note
            ),
        )
        self.message_user(
            request,
            ngettext("Approved %(count)d request.", "Approved %(count)d requests.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Refuse (with the note as reason)"), permissions=["decide"])
    def refuse_requests(self, request, queryset):
        note = self._note(request)
        if not note:
            self.message_user(
                request, _("Write the reason for the refusal in the note."), messages.ERROR
            )
            return
        count = self._each_pending(
            request,
            queryset,
            lambda row: settings_request_refuse(
                settings_request=row, staff=request.user, note=note
            ),
        )
        self.message_user(
            request,
            ngettext("Refused %(count)d request.", "Refused %(count)d requests.", count)
            % {"count": count},
            messages.SUCCESS,
        )
