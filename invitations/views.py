"""Public pages of the invitations app: the one-click unsubscribe (R6, R41, RFC 8058)."""

from __future__ import annotations

from functools import wraps

from django.http import Http404
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django.views.defaults import page_not_found

from invitations import emails, sending


def _private(view):
    """The URL carries a token: never cache the page, never leak it in a Referer."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response

    return wrapper


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
