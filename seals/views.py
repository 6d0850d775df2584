"""Public surfaces of a shop: certificate page, widget, seal image and feed (R27-R31).

Each view reads the shop by its slug (one query, with its company and its merchant seal status:
the enforcement flags are read on every request), answers a neutral "not available" if the shop
is switched off (R30, R31), and otherwise serves cached bytes (``seals.public_cache``) with an
ETag. None of them reads the session or sets a cookie (AU-8).
"""

from __future__ import annotations

from csp.decorators import csp_replace
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import trans_real
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from companies.models import Shop
from seals import feeds, seal_image, selectors, widget
from seals.certificate import certificate_context
from seals.models import SealStatus
from seals.public_cache import cached_response

PAGE_MAX_AGE = 60  # the certificate page may lag a review by a minute in shared caches
EMBED_MAX_AGE = 300  # widget, seal and feed sit on every page of a shop: cache them longer
SEAL_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
JAVASCRIPT = "text/javascript; charset=utf-8"


def _shop(slug: str) -> tuple[Shop, SealStatus | None]:
    """The shop with its company and its merchant seal status, or 404."""
    found = selectors.public_shop(slug)
    if found is None:
        raise Http404("No such shop.")
    return found


def public_language(request: HttpRequest) -> str:
    """``?lang=`` first, then Accept-Language, else English (en or de)."""
    supported = widget.LANGUAGES
    chosen = request.GET.get("lang", "")
    if chosen in supported:
        return chosen
    header = request.headers.get("Accept-Language", "")[:200]
    for code, _quality in trans_real.parse_accept_lang_header(header):
        base = code.split("-")[0].lower()
        if base in supported:
            return base
    return "en"


def _headers(response: HttpResponse, *, max_age: int | None, vary: str = "") -> HttpResponse:
    if max_age is None:
        response["Cache-Control"] = "no-cache"  # revalidate: switching back on shows at once
    else:
        response["Cache-Control"] = f"public, max-age={max_age}"
    if vary:
        response["Vary"] = vary
    return response


def _embeddable(response: HttpResponse) -> HttpResponse:
    """Loadable from any site, with no credentials (AU-8)."""
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _not_available(request: HttpRequest, language: str, *, status: int = 410) -> HttpResponse:
    with translation.override(language):
        response = render(request, "public/not_available.html", status=status)
    return _headers(response, max_age=None, vary="Accept-Language")


# --- Certificate page -------------------------------------------------------------------------


@require_safe
def certificate(request: HttpRequest, slug: str) -> HttpResponse:
    shop, seal = _shop(slug)
    language = public_language(request)
    if not shop.is_public:
        return _not_available(request, language)
    filters = selectors.ReviewFilter.from_query(request.GET)
    page_number = request.GET.get("page", "1")[:6]

    def render_page() -> HttpResponse:
        with translation.override(language):
            context = certificate_context(
                shop=shop, seal=seal, filters=filters, page_number=page_number
            )
            context["language"] = language
            return render(request, "public/certificate.html", context)

    response = cached_response(
        request,
        shop=shop,
        surface="certificate",
        variant=f"{language}|{filters.as_variant()}|{page_number}",
        render=render_page,
    )
    return _headers(response, max_age=PAGE_MAX_AGE, vary="Accept-Language")


# --- Widget -----------------------------------------------------------------------------------


def _widget_request(request: HttpRequest) -> tuple[str, str]:
    language = request.GET.get("lang", "")
    product_id = request.GET.get("product_id", "")[:255]
    return (language if language in widget.LANGUAGES else ""), product_id


@require_safe
def widget_js(request: HttpRequest, slug: str) -> HttpResponse:
    """The script: the same bytes for every visitor, whatever their cookies or language; the
    language comes from ``?lang=``, the container's ``data-lang`` or the host page."""
    shop, seal = _shop(slug)
    language, product_id = _widget_request(request)
    if not shop.is_public:
        data = widget.not_available_data(shop=shop, language=language, product_id=product_id)
        response = HttpResponse(widget.script(data), content_type=JAVASCRIPT)
        return _embeddable(_headers(response, max_age=None))

    def render_script() -> HttpResponse:
        data = widget.widget_data(shop=shop, seal=seal, product_id=product_id, language=language)
        return HttpResponse(widget.script(data), content_type=JAVASCRIPT)

    response = cached_response(
        request,
        shop=shop,
        surface="widget.js",
        variant=f"{language}|{product_id}",
        render=render_script,
    )
    return _embeddable(_headers(response, max_age=EMBED_MAX_AGE))


# Only this page may be framed by other sites; the script it loads is ours ('self'). The hash
# admits the widget's <style> fallback for browsers without constructable stylesheets.
_FRAME_CSP = {
    "frame-ancestors": ["*"],
    "style-src": ["'self'", widget.css_hash()],
}


@require_safe
@xframe_options_exempt
@csp_replace(_FRAME_CSP)
def widget_frame(request: HttpRequest, slug: str) -> HttpResponse:
    """The widget as a page for an ``<iframe>``: the same script, served from our origin."""
    shop, _seal = _shop(slug)
    language = public_language(request)
    _, product_id = _widget_request(request)

    def render_page() -> HttpResponse:
        with translation.override(language):
            context = {
                "shop": shop,
                "available": shop.is_public,
                "language": language,
                "product_id": product_id,
            }
            return render(request, "public/widget_frame.html", context)

    if not shop.is_public:
        response = render_page()
        return _headers(response, max_age=None, vary="Accept-Language")
    response = cached_response(
        request,
        shop=shop,
        surface="widget-frame",
        variant=f"{language}|{product_id}",
        render=render_page,
    )
    return _headers(response, max_age=EMBED_MAX_AGE, vary="Accept-Language")


# --- Seal image -------------------------------------------------------------------------------


@require_safe
def seal_svg(request: HttpRequest, slug: str) -> HttpResponse:
    shop, seal = _shop(slug)
    language = public_language(request)

    def render_svg(available: bool) -> HttpResponse:
        with translation.override(language):
            body = seal_image.render(shop=shop, status=seal, available=available)
        return HttpResponse(body, content_type="image/svg+xml; charset=utf-8")

    if not shop.is_public:
        response = _headers(render_svg(False), max_age=None, vary="Accept-Language")
    else:
        response = cached_response(
            request,
            shop=shop,
            surface="seal.svg",
            variant=language,
            render=lambda: render_svg(True),
        )
        response = _headers(response, max_age=EMBED_MAX_AGE, vary="Accept-Language")
    # Harmless even when opened directly: no script, no external loads (AU-8).
    response["Content-Security-Policy"] = SEAL_CSP
    response["X-Content-Type-Options"] = "nosniff"
    return _embeddable(response)


# --- Feed -------------------------------------------------------------------------------------


@require_safe
def product_ratings_feed(request: HttpRequest, slug: str) -> HttpResponse:
    shop, _seal = _shop(slug)
    if not shop.is_public:
        return _not_available(request, public_language(request))
    response = cached_response(
        request,
        shop=shop,
        surface="feed",
        render=lambda: HttpResponse(
            feeds.product_ratings_feed(shop=shop), content_type="application/xml; charset=utf-8"
        ),
    )
    return _headers(response, max_age=EMBED_MAX_AGE)
