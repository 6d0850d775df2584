"""Public pages of the invitations app: the one-click unsubscribe (R6, R41, RFC 8058)."""

from __future__ import annotations

from functools import wraps

from django.http import Http404
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django.views.defaults import page_not_found

from ekomi.ratelimit import limit_exceeded
from invitations import emails, sending


def _private(view=None, *, referrer: str = "no-referrer"):
    """Never cache the page, never leak its URL in a Referer to another site.

    Pages with a form that needs CSRF use ``same-origin``: under ``no-referrer`` browsers send
    ``Origin: null`` with a POST and Django's origin check refuses it.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response["Cache-Control"] = "no-store"
            response["Referrer-Policy"] = referrer
            return response

        return wrapper

    return decorate(view) if view is not None else decorate


# CSRF-exempt on purpose: RFC 8058 one-click POSTs come from mail clients without cookies. The
# signed token is the protection, and all it can do is stop emails to one address from one shop.
@csrf_exempt
@require_http_methods(["GET", "POST"])
@_private
def unsubscribe(request, token: str):
    target = emails.unsubscribe_target(token)
    if target is None:
        return page_not_found(request, Http404())
    shop, digest = target
    language = translation.get_language_from_request(request)
    if language not in emails.SUPPORTED_LOCALES:
        language = emails.DEFAULT_LOCALE
    template = "public/unsubscribe.html"
    if request.method == "POST":
        sending.address_unsubscribe(shop=shop, digest=digest)
        template = "public/unsubscribed.html"
    with translation.override(language):
        return render(request, template, {"shop": shop, "LANGUAGE_CODE": language})


LINK_REQUESTS_PER_HOUR = 5  # per client address (R10: rate-limited)


@require_http_methods(["GET", "POST"])
@_private(referrer="same-origin")
def link_request(request, slug: str):
    """R10: the same neutral answer whether or not the order exists (no enumeration)."""
    from companies.selectors import shop_by_slug
    from invitations.forms import LinkRequestForm
    from invitations.link_requests import link_request_create

    shop = shop_by_slug(slug)
    if shop is None or not shop.is_public:
        return page_not_found(request, Http404())
    form = LinkRequestForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        if limit_exceeded(
            request, scope="link-request", limit=LINK_REQUESTS_PER_HOUR, window_seconds=3600
        ):
            return render(
                request,
                "public/link_request.html",
                {"shop": shop, "form": form, "slow_down": True},
                status=429,
            )
        data = form.cleaned_data
        link_request_create(
            shop=shop,
            email=data["email"],
            order_reference=data["order_reference"],
            evidence=data["evidence"],
            message=data["message"],
        )
        return render(request, "public/link_request_sent.html", {"shop": shop})
    status = 400 if request.method == "POST" else 200
    return render(request, "public/link_request.html", {"shop": shop, "form": form}, status=status)
