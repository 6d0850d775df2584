"""/backend/settings/: shop settings, notifications, newsletter and requests needing staff
(R2, R7, R8, R14, R41); and the public one-click unsubscribe of notification emails.

Shop settings and requests work on the shop chosen in the header (``request.shop``): managers
and owners change them, viewers read them (R2). Notification and newsletter choices are each
user's own, so every member may change them.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.defaults import page_not_found

from companies import notifications
from companies.forms_settings import (
    NewsletterForm,
    NotificationPreferencesForm,
    PauseRequestForm,
    SelectionGroupRequestForm,
    ShopSettingsForm,
)
from companies.models import NewsletterConsent, Role, SettingsRequest
from companies.services_settings import (
    RequestConflict,
    RequestNotPending,
    newsletter_opt_in,
    newsletter_opt_out,
    notification_preferences,
    notification_preferences_set,
    settings_request_create,
    settings_request_withdraw,
    shop_settings_update,
    unsubscribe_apply,
)
from companies.tenancy import access_object
from companies.views_backend import ROLE_RANK, backend_context, require_role

REQUESTS_SHOWN = 20


def _page(request, status: int = 200, **forms):
    """The settings page; ``forms`` replaces the unbound form of the section that was posted."""
    shop = request.shop
    can_change = ROLE_RANK[request.membership.role] >= ROLE_RANK[Role.MANAGER]
    preferences = notification_preferences(company=request.company, user=request.user)
    consents = list(
        NewsletterConsent.objects.filter(user=request.user).order_by("-given_at", "-pk")[:10]
    )
    subscribed = bool(consents) and consents[0].withdrawn_at is None
    requests = []
    if shop is not None:
        requests = list(
            SettingsRequest.objects.for_company(request.company)
            .filter(shop=shop)
            .select_related("requested_by")
            .order_by("-created_at", "-pk")[:REQUESTS_SHOWN]
        )
    defaults = {
        "shop_form": ShopSettingsForm(instance=shop) if shop is not None else None,
        "notification_form": NotificationPreferencesForm(
            initial={topic: getattr(preferences, topic) for topic in preferences.Topic.values}
        ),
        "newsletter_form": NewsletterForm(initial={"subscribed": subscribed}),
        "pause_form": PauseRequestForm(),
        "selection_form": SelectionGroupRequestForm(),
    }
    defaults.update(forms)
    context = backend_context(
        request,
        shop=shop,
        can_change=can_change,
        consents=consents,
        subscribed=subscribed,
        requests=requests,
        pending_kinds={r.kind for r in requests if r.status == SettingsRequest.Status.PENDING},
        **defaults,
    )
    return render(request, "backend/settings/settings.html", context, status=status)


def _current_shop(request):
    if request.shop is None:
        raise Http404("The company has no shop yet.")
    return request.shop


@require_safe
@require_role(Role.VIEWER)
def settings_page(request):
    return _page(request)


@require_POST
@require_role(Role.MANAGER)
def settings_shop(request):
    shop = _current_shop(request)
    form = ShopSettingsForm(request.POST, instance=shop)
    if not form.is_valid():
        shop.refresh_from_db()  # the form wrote invalid values onto the instance
        return _page(request, status=400, shop_form=form)
    shop_settings_update(shop=shop, **form.settings_values())
    messages.success(request, _("The settings of %(shop)s were saved.") % {"shop": shop.name})
    return redirect("backend:settings")


@require_POST
@require_role(Role.VIEWER)
def settings_notifications(request):
    form = NotificationPreferencesForm(request.POST)
    if not form.is_valid():  # booleans: only a tampered request gets here
        return _page(request, status=400, notification_form=form)
    notification_preferences_set(company=request.company, user=request.user, **form.cleaned_data)
    messages.success(request, _("Your notification choices were saved."))
    return redirect("backend:settings")


@require_POST
@require_role(Role.VIEWER)
def settings_newsletter(request):
    form = NewsletterForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, newsletter_form=form)
    if form.cleaned_data["subscribed"]:
        newsletter_opt_in(user=request.user, source=NewsletterConsent.Source.BACKEND_SETTINGS)
        messages.success(request, _("You subscribed to the newsletter. Thank you!"))
    else:
        newsletter_opt_out(user=request.user, source=NewsletterConsent.Source.BACKEND_SETTINGS)
        messages.success(request, _("You will not receive the newsletter."))
    return redirect("backend:settings")


def _create_request(request, kind: str, form, form_name: str):
    shop = _current_shop(request)
    if not form.is_valid():
        return _page(request, status=400, **{form_name: form})
    try:
        settings_request_create(
            shop=shop, kind=kind, requested_by=request.user, **form.cleaned_data
        )
    except RequestConflict:
        form.add_error(None, _("A request of this kind is already waiting for platform staff."))
        return _page(request, status=400, **{form_name: form})
    messages.success(
        request,
        _("Your request was sent to platform staff. We will email you their decision."),
    )
    return redirect("backend:settings")


@require_POST
@require_role(Role.MANAGER)
def settings_request_pause(request):
    return _create_request(
        request, SettingsRequest.Kind.PAUSE, PauseRequestForm(request.POST), "pause_form"
    )


@require_POST
@require_role(Role.MANAGER)
def settings_request_selection_group(request):
    return _create_request(
        request,
        SettingsRequest.Kind.SELECTION_GROUP,
        SelectionGroupRequestForm(request.POST),
        "selection_form",
    )


@require_POST
@require_role(Role.MANAGER)
def settings_request_withdraw_view(request, request_id: int):
    """Withdraw a pending request; another company's id is a 404 like a missing one (R4)."""
    row = access_object(SettingsRequest, company=request.company, pk=request_id)
    try:
        settings_request_withdraw(settings_request=row)
    except RequestNotPending:
        messages.error(request, _("Only a request that is still waiting can be withdrawn."))
    else:
        messages.success(request, _("Your request was withdrawn."))
    return redirect("backend:settings")


# --- Public: one-click unsubscribe (R41, RFC 8058) ---------------------------------------------


# CSRF-exempt on purpose: RFC 8058 one-click POSTs come from mail clients without cookies. The
# signed token is the protection, and all it can do is turn one email preference off.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def email_unsubscribe(request, token: str):
    target = notifications.unsubscribe_target(token)
    if target is None:
        return page_not_found(request, Http404())
    done = request.method == "POST"
    if done:
        unsubscribe_apply(user=target.user, topic=target.topic, company=target.company)
    language = translation.get_language_from_request(request)
    if language not in notifications.EMAIL_LOCALES:
        language = notifications.EMAIL_LOCALES[0]
    with translation.override(language):
        response = render(
            request,
            "backend/settings/unsubscribe.html",
            {
                "target": target,
                "done": done,
                "newsletter": target.topic == notifications.NEWSLETTER,
            },
        )
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
