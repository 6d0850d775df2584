"""The evaluator's pages: the rating link, the form, edits and deletion (R12-R16, AU-3, AU-4).

The token in ``/r/<token>/`` is swapped for a review session on the first request and the browser
is sent on to ``/r/`` (303), so the token never sits in the address bar, the history or a Referer
(AU-4). The review session is a signed cookie (``django.core.signing``, HttpOnly, SameSite=Lax,
path ``/r/``, two hours): the invitation's id, the form's products and the chosen language, never
the token. Nobody can forge or alter it without the secret key, and the form's POST reads nothing
before the one call that stores the submission (bench: rating submissions; a database session cost
a read on every POST and a write on every opened link).

Every page here is ``no-store``. The token URL answers with ``no-referrer``; the pages after it
carry no secret and use ``same-origin``, because under ``no-referrer`` browsers send ``Origin:
null`` with a form POST (Fetch standard) and the CSRF origin check would refuse every submission.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core import signing
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from companies.tenancy import tenant_scope
from ekomi.ratelimit import client_ip, limit_exceeded
from invitations.models import Invitation
from invitations.selectors import invitation_for_token
from reviews import services, services_submission
from reviews.forms import RatingForm, VisitorReviewForm, quick_submission
from reviews.models import Review

REVIEW_COOKIE = "review"
_COOKIE_SALT = "reviews.review-session"
_COOKIE_BYTES = 3800  # browsers keep a cookie of up to 4,096 bytes, name and attributes included
SESSION_SECONDS = 2 * 60 * 60  # a short review session; the link opens a new one any time
MISSES_PER_MINUTE = 30  # unknown tokens per IP before 429 (AB-2)
LANGUAGES = {"en", "de"}


def review_session(request) -> dict | None:
    """The review session the browser sent: signed by us and not older than two hours."""
    if not hasattr(request, "_review_session"):
        raw, data = request.COOKIES.get(REVIEW_COOKIE), None
        if raw:
            try:
                data = signing.loads(raw, salt=_COOKIE_SALT, max_age=SESSION_SECONDS)
            except signing.BadSignature:  # altered, forged, or expired
                data = None
        valid = isinstance(data, dict) and isinstance(data.get("id"), int)
        request._review_session = data if valid else None
    return request._review_session


def keep_review_session(request, data: dict | None) -> None:
    """Set (or, with None, end) the review session; the response carries it (``private_page``)."""
    request._review_session = data
    request._review_session_changed = True


def _write_review_session(request, response) -> None:
    data = request._review_session
    if data is None:
        response.delete_cookie(REVIEW_COOKIE, path="/r/", samesite="Lax")
        return
    value = signing.dumps(data, salt=_COOKIE_SALT, compress=True)
    if len(value) > _COOKIE_BYTES and "products" in data:
        # A very large order: without its products the form reads them from the order.
        value = signing.dumps(
            {k: v for k, v in data.items() if k != "products"}, salt=_COOKIE_SALT, compress=True
        )
    response.set_cookie(
        REVIEW_COOKIE,
        value,
        max_age=SESSION_SECONDS,
        path="/r/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def private_page(view=None, *, referrer: str = "same-origin"):
    """No caching anywhere and no Referer leaving for another site (AU-4); a review session
    the view set or ended goes out with the response."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response["Referrer-Policy"] = referrer
            if getattr(request, "_review_session_changed", False):
                _write_review_session(request, response)
            return response

        return never_cache(wrapped)

    return decorate(view) if view is not None else decorate


def see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _state_page(request, state: str, status: int, language: str | None = None):
    """Neutral pages: they never show a shop, a name, an email or an order (AU-2, AB-2)."""
    with translation.override(language or translation.get_language()):
        return render(request, "public/rating/state.html", {"state": state}, status=status)


def _language(request, invitation: Invitation) -> str:
    data = review_session(request) or {}
    chosen = request.GET.get("lang") or data.get("language")
    if chosen in LANGUAGES:
        if data and data.get("language") != chosen:
            keep_review_session(request, {**data, "language": chosen})
        return chosen
    return invitation.order.locale if invitation.order.locale in LANGUAGES else "en"


@private_page(referrer="no-referrer")
@require_http_methods(["GET"])
def open_link(request, token: str):
    invitation = invitation_for_token(token)
    if invitation is None:
        if limit_exceeded(
            request, scope="rating-link-miss", limit=MISSES_PER_MINUTE, window_seconds=60
        ):
            return _state_page(request, "slow_down", 429)
        return _state_page(request, "unknown", 404)
    language = invitation.order.locale if invitation.order.locale in LANGUAGES else "en"
    if timezone.now() >= invitation.expires_at or invitation.status == Invitation.Status.EXPIRED:
        return _state_page(request, "expired", 410, language)
    if not invitation.shop.is_public or invitation.shop.ratings_stopped:
        return _state_page(request, "closed", 410, language)
    with tenant_scope(invitation.company_id):
        deleted = Review.objects.filter(
            invitation=invitation, kind=Review.Kind.MERCHANT, status=Review.Status.DELETED
        ).exists()
    if deleted:
        return _state_page(request, "used", 410, language)
    with tenant_scope(invitation.company_id):
        products = [
            [item.product_id, item.product.name]
            for item in invitation.order.items.select_related("product")
        ]
    keep_review_session(
        request,
        {
            "id": invitation.pk,
            "until": time.time() + SESSION_SECONDS,
            "products": products,  # the form's fields, so that a first submission reads nothing
        },
    )
    return see_other(reverse("reviews:rate"))


def _session_invitation(request) -> Invitation | None:
    data = review_session(request)
    if not data or data.get("until", 0) < time.time():
        return None
    invitation = (
        Invitation.objects.unscoped()  # the id comes from our own signed session
        .select_related("shop", "shop__company", "order")
        .filter(pk=data["id"])
        .first()
    )
    if invitation is None or timezone.now() >= invitation.expires_at:
        return None
    return invitation


def _context(invitation: Invitation, form: RatingForm, reviews: list[Review], language: str):
    return {
        "shop": invitation.shop,
        "order_id": invitation.order.order_id,
        "form": form,
        "editing": bool(reviews),
        "valid_until": invitation.expires_at,
        "language": language,
        "media_limits": {"photos": 5, "photo_mb": 10, "videos": 1, "video_mb": 50},
        "max_upload_mb": settings.FILE_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024),
    }


def _initial(reviews: list[Review]) -> dict:
    initial = {}
    for review in reviews:
        if review.kind == Review.Kind.MERCHANT:
            initial.update(
                merchant_rating=review.rating,
                merchant_comment=review.comment,
                display_name=review.display_name,
            )
        else:
            initial[f"product_{review.product_id}_rating"] = review.rating
            initial[f"product_{review.product_id}_comment"] = review.comment
    return initial


@dataclass(frozen=True)
class _SessionProduct:
    pk: int
    name: str


def _receive_first(request):
    """The common POST: a valid first submission, stored by one statement (R13, R17) with no
    read before it; the statement itself checks the link. Anything else (an invalid form, an
    edit, a closed link) returns None and takes the full path, which explains it."""
    data = review_session(request)
    if not data or data.get("until", 0) < time.time() or "products" not in data:
        return None
    products = [_SessionProduct(pk, name) for pk, name in data["products"]]
    submission = quick_submission(request.POST, request.FILES, products=products)
    if submission is None:
        return None
    try:
        services_submission.review_receive(
            invitation_id=data["id"], submission=submission, client_ip=client_ip(request)
        )
    except services.ReviewError:
        return None
    return see_other(reverse("reviews:thanks"))


@private_page
@require_http_methods(["GET", "POST"])
def rate(request):
    if request.method == "POST" and (response := _receive_first(request)) is not None:
        return response
    invitation = _session_invitation(request)
    if invitation is None:
        return _state_page(request, "session_ended", 404)
    language = _language(request, invitation)
    with translation.override(language), tenant_scope(invitation.company_id):
        products = [item.product for item in invitation.order.items.select_related("product")]
        if request.method == "GET":
            reviews = _current_reviews(invitation)
            form = RatingForm(initial=_initial(reviews), products=products)
            return render(
                request, "public/rating/form.html", _context(invitation, form, reviews, language)
            )
        form = RatingForm(request.POST, request.FILES, products=products)
        if not form.is_valid():
            return render(
                request,
                "public/rating/form.html",
                _context(invitation, form, _current_reviews(invitation), language),
                status=400,
            )
        return _save(request, invitation, form, language=language)


def _current_reviews(invitation: Invitation) -> list[Review]:
    return list(Review.objects.filter(invitation=invitation).exclude(status=Review.Status.DELETED))


def _save(request, invitation, form, *, language: str):
    """A first submission is stored in one statement and screened by a worker (R17); a link
    that already holds reviews makes this an edit, decided here (R15)."""
    submission, address = form.submission(), client_ip(request)
    try:
        try:
            services_submission.review_receive(
                invitation_id=invitation.pk, submission=submission, client_ip=address
            )
        except services.AlreadySubmitted:
            if not _current_reviews(invitation):
                raise  # the evaluator deleted them: the link is used up (AU-3)
            services.review_edit(
                invitation_id=invitation.pk, submission=submission, client_ip=address
            )
    except services.AlreadySubmitted:
        return _state_page(request, "already_submitted", 409, language)
    except services.LinkNotUsable:
        return _state_page(request, "closed", 410, language)
    except services.NothingToEdit:
        return _state_page(request, "used", 410, language)
    return see_other(reverse("reviews:thanks"))


@private_page
@require_http_methods(["GET"])
def thanks(request):
    invitation = _session_invitation(request)
    if invitation is None:
        return _state_page(request, "session_ended", 404)
    with translation.override(_language(request, invitation)):
        return render(request, "public/rating/thanks.html", {"shop": invitation.shop})


@private_page
@require_http_methods(["POST"])
def delete(request):
    invitation = _session_invitation(request)
    if invitation is None:
        return _state_page(request, "session_ended", 404)
    language = _language(request, invitation)
    services.review_delete_by_evaluator(invitation_id=invitation.pk)
    keep_review_session(request, None)
    return _state_page(request, "deleted", 200, language)


# --- Reviews without an order (R14) ---------------------------------------------------------

VISITOR_REVIEWS_PER_HOUR = 5  # per client address


@private_page
@require_http_methods(["GET", "POST"])
def visitor_write(request, slug: str):
    from companies.selectors import shop_by_slug

    shop = shop_by_slug(slug)
    if shop is None or not shop.is_public:
        return _state_page(request, "unknown", 404)
    if not shop.non_transaction_reviews_enabled or shop.ratings_stopped:
        return _state_page(request, "closed", 410)
    form = VisitorReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if limit_exceeded(
            request, scope="visitor-review", limit=VISITOR_REVIEWS_PER_HOUR, window_seconds=3600
        ):
            return _state_page(request, "slow_down", 429)
        data = form.cleaned_data
        services.visitor_review_create(
            shop=shop,
            rating=data["rating"],
            comment=data["comment"],
            display_name=data["display_name"],
            email=data["email"],
        )
        return render(request, "public/rating/visitor_sent.html", {"shop": shop})
    status = 400 if request.method == "POST" else 200
    return render(
        request, "public/rating/visitor_form.html", {"shop": shop, "form": form}, status=status
    )


@private_page
@require_http_methods(["GET", "POST"])
def visitor_confirm(request, token: str):
    """GET shows a button; only the POST publishes (mail scanners prefetch GET links)."""
    if request.method == "GET":
        return render(request, "public/rating/visitor_confirm.html", {"token": token})
    review = services.visitor_review_confirm(token=token)
    if review is None:
        return _state_page(request, "unknown", 404)
    return render(request, "public/rating/visitor_confirmed.html", {"review": review})
