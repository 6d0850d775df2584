"""Moderation in Django admin (R17-R23, R30, TI-5).

- **Moderation queue** (``QueuedReview``): every review that waits for a moderator, oldest first.
  Its page is the workbench: the review, its history, what the check found, the signals, media,
  complaints, company comment and held dialogue messages, with one form per action. Actions go
  through ``moderation.services`` (log entry, caches) and also write Django's ``LogEntry``.
- **Shop enforcement** (``ShopEnforcement``): disable public pages, stop ratings, suspend or
  withdraw the seal, block backend access, each with a reason.
- Complaints, signals, findings, the moderation log and the email records: read-only lists. The
  log cannot be edited or deleted here, not even by a superuser.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from companies.admin import ReadOnlyTenantAdmin
from moderation import admin_actions, enforcement, selectors, services
from moderation.models import (
    ENFORCEMENT_REASONS,
    REMOVAL_REASONS,
    Complaint,
    IntegritySignal,
    ModerationFinding,
    ModerationLogEntry,
    NetworkSighting,
    OutboundEmail,
    QueuedReview,
    Reason,
    ReplacementOffer,
    ShopEnforcement,
)
from moderation.services import ModerationError
from reviews.models import Review

Action = ModerationLogEntry.Action


def workbench_url(review_id: int) -> str:
    return reverse("admin:moderation_queuedreview_change", args=[review_id])


def _review_link(review_id: int | None):
    if review_id is None:
        return "-"
    return format_html('<a href="{}">review {}</a>', workbench_url(review_id), review_id)


# --- The queue and the workbench ------------------------------------------------------------------


@admin.register(QueuedReview)
class QueuedReviewAdmin(ReadOnlyTenantAdmin):
    """The moderation queue: held reviews, media, complaints and signals, oldest first."""

    list_display = ("waiting", "why", "shop", "rating", "status", "excerpt")
    list_select_related = ("shop",)
    list_filter = ("status", "kind", "is_transaction_based")
    search_fields = ("=public_id", "shop__slug")
    show_full_result_count = False
    list_display_links = ("waiting",)

    def get_queryset(self, request):
        # Deliberately cross-tenant: the queue covers every company (staff tool).
        return selectors.queue(Review.objects.unscoped().select_related("shop"))

    def get_ordering(self, request):
        return ("waiting_since", "pk")

    @admin.display(description=_("waiting since"), ordering="waiting_since")
    def waiting(self, obj):
        return obj.waiting_since

    @admin.display(description=_("why"))
    def why(self, obj):
        return ", ".join(selectors.queue_reasons(obj))

    @admin.display(description=_("comment"))
    def excerpt(self, obj):
        return Truncator(obj.comment).chars(80)

    def has_change_permission(self, request, obj=None):
        # "change" here means: may take moderation actions in the workbench.
        return request.user.has_perm("moderation.change_queuedreview")

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The review itself, also once it has left the queue (after the last action on it).
        review = Review.objects.unscoped().select_related("shop", "shop__company", "product")
        review = review.filter(pk=unquote(object_id)).first()
        if review is None:
            return self._redirect_to_queue(request, _("That review does not exist."))
        if not self.has_view_permission(request, review):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request, review):
                raise PermissionDenied
            return self._act(request, review)
        return TemplateResponse(
            request, "admin/moderation/workbench.html", self._context(request, review)
        )

    def _context(self, request, review: Review) -> dict:
        return {
            **self.admin_site.each_context(request),
            **selectors.workbench(review),
            "title": _("Moderate review %(id)s") % {"id": review.pk},
            "opts": self.model._meta,
            "review": review,
            "can_act": self.has_change_permission(request, review),
            "removal_reasons": [(r.value, r.label) for r in REMOVAL_REASONS],
            "all_reasons": Reason.choices,
            "outcomes": [c for c in Complaint.Outcome.choices if c[0]],
            "queue_url": reverse("admin:moderation_queuedreview_changelist"),
        }

    def _act(self, request, review: Review):
        form = admin_actions.ReviewActionForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("The form was incomplete."))
            return HttpResponseRedirect(request.path)
        try:
            done = admin_actions.take_action(review, form.cleaned_data, request.user)
        except ModerationError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(request.path)
        if not done:
            messages.error(request, _("Unknown action."))
            return HttpResponseRedirect(request.path)
        # TI-5(d): every moderator action also lands in Django's admin LogEntry.
        self.log_change(request, review, done)
        messages.success(request, _("Done: %(what)s.") % {"what": done})
        return HttpResponseRedirect(request.path)

    def _redirect_to_queue(self, request, message):
        messages.warning(request, message)
        return HttpResponseRedirect(reverse("admin:moderation_queuedreview_changelist"))


# --- Enforcement (R30) --------------------------------------------------------------------------


class EnforcementForm(forms.Form):
    action = forms.ChoiceField(
        choices=[(a, Action(a).label) for a in enforcement.ENFORCEMENT_ACTIONS]
    )
    reason = forms.ChoiceField(choices=[(r.value, r.label) for r in ENFORCEMENT_REASONS])
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


@admin.register(ShopEnforcement)
class ShopEnforcementAdmin(ReadOnlyTenantAdmin):
    """Every shop with its enforcement state; the page of a shop takes actions (R30)."""

    list_display = (
        "name",
        "slug",
        "company",
        "company_status",
        "public_pages_disabled",
        "ratings_stopped",
        "seal_state",
    )
    list_select_related = ("company",)
    list_filter = ("public_pages_disabled", "ratings_stopped", "seal_state", "company__status")
    search_fields = ("name", "slug", "company__name")

    @admin.display(description=_("backend access"), ordering="company__status")
    def company_status(self, obj):
        return obj.company.get_status_display()

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("moderation.change_shopenforcement")

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        shop = self.get_object(request, unquote(object_id))
        if shop is None:
            raise Http404("No such shop.")
        if not self.has_view_permission(request, shop):
            raise PermissionDenied
        form = EnforcementForm(request.POST or None)
        if request.method == "POST":
            if not self.has_change_permission(request, shop):
                raise PermissionDenied
            if form.is_valid():
                return self._enforce(request, shop, form.cleaned_data)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Enforcement: %(shop)s") % {"shop": shop.name},
            "opts": self.model._meta,
            "shop": shop,
            "form": form,
            "can_act": self.has_change_permission(request, shop),
            # Deliberately cross-tenant: staff read any company's enforcement history.
            "history": ModerationLogEntry.objects.unscoped()
            .filter(
                company_id=shop.company_id,
                action__in=enforcement.ENFORCEMENT_ACTIONS,
            )
            .filter(shop_id=shop.pk)
            .select_related("actor")
            .order_by("-id")[:50],
        }
        return TemplateResponse(request, "admin/moderation/enforcement.html", context)

    def _enforce(self, request, shop, data):
        try:
            enforcement.shop_enforce(
                shop_id=shop.pk,
                actor=request.user,
                action=data["action"],
                reason=data["reason"],
                justification=data["justification"],
            )
        except ModerationError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(request.path)
        self.log_change(request, shop, f"enforcement {data['action']}")
        messages.success(request, _("Done: %(what)s.") % {"what": Action(data["action"]).label})
        return HttpResponseRedirect(request.path)


# --- Read-only lists ---------------------------------------------------------------------------


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyTenantAdmin):
    """Complaints are decided on the review's workbench page (link)."""

    list_display = (
        "created_at",
        "review_link",
        "shop",
        "source",
        "reason",
        "status",
        "out_of_time",
        "outcome",
    )
    list_select_related = ("shop",)
    list_filter = ("status", "source", "reason", "out_of_time", "outcome")
    search_fields = ("=public_id", "shop__slug")
    raw_id_fields = ("shop", "review", "filed_by", "decided_by")
    personal_fields = ("complainant_email",)
    readonly_fields = ("review_link",)
    show_full_result_count = False

    @admin.display(description=_("review"))
    def review_link(self, obj):
        return _review_link(obj.review_id)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IntegritySignal)
class IntegritySignalAdmin(ReadOnlyTenantAdmin):
    """Signs of manipulation with their explanation (R23); settled here or on the workbench."""

    list_display = ("created_at", "kind", "shop", "review_link", "held", "status", "explanation")
    list_select_related = ("shop",)
    list_filter = ("status", "kind", "held")
    raw_id_fields = ("shop", "review", "resolved_by")
    readonly_fields = ("review_link",)
    actions = ("dismiss_signals", "confirm_signals")
    show_full_result_count = False

    @admin.display(description=_("review"))
    def review_link(self, obj):
        return _review_link(obj.review_id)

    def has_delete_permission(self, request, obj=None):
        return False

    def _resolve(self, request, queryset, confirmed: bool):
        done = 0
        for signal in queryset.filter(status=IntegritySignal.Status.OPEN):
            services.signal_resolve(
                signal_id=signal.pk,
                actor=request.user,
                confirmed=confirmed,
                note="settled from the signal list",
            )
            self.log_change(request, signal, "confirmed" if confirmed else "dismissed")
            done += 1
        self.message_user(request, _("%(n)d signals settled.") % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Dismiss: no manipulation"), permissions=["change_signal"])
    def dismiss_signals(self, request, queryset):
        self._resolve(request, queryset, confirmed=False)

    @admin.action(description=_("Confirm: manipulation"), permissions=["change_signal"])
    def confirm_signals(self, request, queryset):
        self._resolve(request, queryset, confirmed=True)

    def has_change_signal_permission(self, request):
        return request.user.has_perm("moderation.change_integritysignal")


@admin.register(ModerationFinding)
class ModerationFindingAdmin(ReadOnlyTenantAdmin):
    list_display = ("created_at", "rule", "held", "start", "end", "version", "shop", "review_link")
    list_select_related = ("shop",)
    list_filter = ("rule", "held")
    raw_id_fields = ("shop", "review", "company_comment", "dialogue_message")
    readonly_fields = ("review_link",)
    show_full_result_count = False

    @admin.display(description=_("review"))
    def review_link(self, obj):
        return _review_link(obj.review_id)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModerationLogEntry)
class ModerationLogEntryAdmin(ReadOnlyTenantAdmin):
    """The append-only, hash-chained moderation log (R19): view only, for everyone."""

    list_display = (
        "id",
        "acted_at",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "reason",
        "company",
        "short_hash",
    )
    list_select_related = ("company",)
    list_filter = ("action", "reason", "target_type")
    search_fields = ("actor_label", "=target_id")
    raw_id_fields = ("company", "shop", "actor")
    show_full_result_count = False

    @admin.display(description=_("hash"))
    def short_hash(self, obj):
        return obj.hash[:12]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}


@admin.register(NetworkSighting)
class NetworkSightingAdmin(ReadOnlyTenantAdmin):
    """Keyed hashes of truncated client networks, kept 90 days (R23)."""

    list_display = ("seen_at", "source", "shop", "company", "quick", "short_hash")
    list_select_related = ("shop", "company")
    list_filter = ("source", "quick")
    raw_id_fields = ("shop", "review")
    show_full_result_count = False

    @admin.display(description=_("network"))
    def short_hash(self, obj):
        return obj.network_hash[:8]


@admin.register(ReplacementOffer)
class ReplacementOfferAdmin(ReadOnlyTenantAdmin):
    list_display = ("created_at", "review_link", "shop", "cause", "expires_at", "used_at")
    list_select_related = ("shop",)
    list_filter = ("cause",)
    raw_id_fields = ("shop", "review")
    readonly_fields = ("review_link",)

    @admin.display(description=_("review"))
    def review_link(self, obj):
        return _review_link(obj.review_id)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyTenantAdmin):
    list_display = ("created_at", "kind", "object_id", "status", "attempts", "sent_at", "shop")
    list_select_related = ("shop",)
    list_filter = ("kind", "status")
    raw_id_fields = ("shop",)
