"""The v3 read methods: getFeedback, getProductfeedback, getSnapshot, getSettings, getAverage,
getDialog. Counts, averages and the seal are the platform's own (SealStatus, R24-R25); review
lists hold published reviews only, newest first.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone

from companies.models import Shop
from compat.protocol import ApiError, Payload, days_of, since_for_range, unix
from invitations.models import EmailTemplate, Invitation
from reviews.models import CompanyComment, DialogueMessage, Review
from seals.selectors import seal_status_for, shows_tier, widget_product

FILTERS = {"all": Q(), "positive": Q(rating__gt=3), "critical": Q(rating__lt=4)}
FILTER_ERROR = "ERROR: Filter is not valid. Possible options: ([all]), [positive] and [critical]."
FIELDS_ERROR = "ERROR: Invalid content in parameter fields."
FEEDBACK_FIELDS = ("date", "order_id", "rating", "feedback", "comment")
FEEDBACK_VALID = {*FEEDBACK_FIELDS, "shop_review_title", "has_email"}
PRODUCT_FIELDS = ("date", "order_id", "product_id", "rating", "feedback")
PRODUCT_VALID = {*PRODUCT_FIELDS, "comment", "has_email"}
# JSON consumers read ``submitted`` and ``review``, the KB's ``fields`` say date/feedback.
JSON_KEYS = {"date": "submitted", "feedback": "review"}


# --- getFeedback / getProductfeedback -----------------------------------------------------------


def _fields(params, default: tuple[str, ...], valid: set[str]) -> list[str]:
    raw = (params.get("fields") or "").strip()
    fields = raw.split(",") if raw else list(default)
    if not all(name in valid for name in fields):
        raise ApiError(FIELDS_ERROR)
    return fields


def _published(shop: Shop, kind: str, params):
    reviews = Review.objects.for_company(shop.company_id).filter(
        shop=shop, kind=kind, status=Review.Status.PUBLISHED
    )
    since = since_for_range(params)
    if since is not None:
        reviews = reviews.filter(submitted_at__gte=since)
    return reviews.select_related("invitation__order", "product", "company_comment").order_by(
        "-submitted_at", "-id"
    )


def _public_comment(review: Review) -> str:
    comment = getattr(review, "company_comment", None)
    if comment is None or comment.status != CompanyComment.Status.PUBLISHED:
        return ""
    return comment.text


def _cell(review: Review, name: str) -> object:
    invitation = review.invitation
    values = {
        "date": lambda: unix(review.submitted_at),
        "order_id": lambda: invitation.order.order_id if invitation else "",
        "product_id": lambda: review.product.product_id if review.product else "",
        "rating": lambda: review.rating,
        "feedback": lambda: review.comment,
        "comment": lambda: _public_comment(review),
        "shop_review_title": lambda: "",
        "has_email": lambda: int(bool(review.dialogue_email)),
    }
    return values[name]()


def _review_payload(reviews, fields: list[str]) -> Payload:
    rows = [[_cell(review, name) for name in fields] for review in reviews]
    keys = [JSON_KEYS.get(name, name) for name in fields]
    return Payload([dict(zip(keys, row, strict=True)) for row in rows], rows=rows)


def get_feedback(shop: Shop, params) -> Payload:
    fields = _fields(params, FEEDBACK_FIELDS, FEEDBACK_VALID)
    which = (params.get("filter") or "all").strip().lower()
    if which not in FILTERS:
        raise ApiError(FILTER_ERROR)
    reviews = _published(shop, Review.Kind.MERCHANT, params).filter(FILTERS[which])
    return _review_payload(reviews, fields)


def get_productfeedback(shop: Shop, params) -> Payload:
    fields = _fields(params, PRODUCT_FIELDS, PRODUCT_VALID)
    reviews = _published(shop, Review.Kind.PRODUCT, params)
    product = (params.get("product") or "").strip()
    if product:
        reviews = reviews.filter(product__product_id=product)
    return _review_payload(reviews, fields)


# --- getSnapshot / getAverage -------------------------------------------------------------------


def _mean(count: int, total: int, places: int) -> str:
    """Rounded down like the seal's average (R25): never more than the reviews earned."""
    if not count:
        return format(Decimal(0), f".{places}f")
    quantum = Decimal(1).scaleb(-places)
    return str((Decimal(total) / Decimal(count)).quantize(quantum, rounding=ROUND_DOWN))


def _seal_numbers(shop: Shop) -> tuple[int, int, str]:
    status = seal_status_for(shop=shop)
    if status is None:
        return 0, 0, ""
    return status.review_count, status.rating_sum, status.tier if shows_tier(shop) else ""


def get_snapshot(shop: Shop, params) -> Payload:
    since_for_range(params)  # osimatic sends range=all; validate, the seal window is fixed
    count, total, tier = _seal_numbers(shop)
    certificate = settings.SITE_URL + reverse("seals:certificate", kwargs={"slug": shop.slug})
    info = {
        "account_name": shop.name,
        "ekomi_certificate": certificate,
        "ekomi_certificate_id": shop.slug,
        "ekomi_certificate_seo": certificate,
        "fb_count": str(count),
        "fb_avg": _mean(count, total, 1),
        "fb_avg_detail": _mean(count, total, 2),
        "active": shows_tier(shop),
        "seal": tier,
    }
    return Payload({"done": 1, "info": info}, rows=[list(info.values())])


def _counted_since(shop: Shop, days: int) -> tuple[int, int]:
    since = timezone.now() - datetime.timedelta(days=days)
    totals = (
        Review.objects.for_company(shop.company_id)
        .filter(
            shop=shop,
            kind=Review.Kind.MERCHANT,
            status=Review.Status.PUBLISHED,
            is_transaction_based=True,
            submitted_at__gte=since,
        )
        .aggregate(count=Count("id"), total=Sum("rating"))
    )
    return totals["count"], totals["total"] or 0


def get_average(shop: Shop, params) -> Payload:
    """Without ``days``: exactly the seal's count and average (R24-R25)."""
    days = days_of(params)
    count, total, tier = _seal_numbers(shop)
    if days is not None:
        count, total = _counted_since(shop, days)
    data = {
        "number_of_ratings": count,
        "exact_average": _mean(count, total, 12),
        "rounded_average": _mean(count, total, 2),
        "seal": tier,
    }
    return Payload(data, rows=[list(data.values())])


def get_product(shop: Shop, params) -> Payload:
    """A putProduct product with its average: the product seal's numbers (R13, R24)."""
    product_id = (params.get("product") or "").strip()
    if not product_id:
        raise ApiError("Product parameter is empty.")
    product, status = widget_product(shop=shop, product_id=product_id)
    if product is None:
        raise ApiError("Product ID not found.")
    count, total = (status.review_count, status.rating_sum) if status else (0, 0)
    data = {
        "product_id": product.product_id,
        "product_name": product.name,
        "brand_name": product.brand,
        "gtin": product.gtin,
        "mpn": product.mpn,
        "image_url": product.image_url,
        "product_canonical_link": product.link,
        "fb_count": str(count),
        "fb_avg": _mean(count, total, 1),
        "fb_avg_detail": _mean(count, total, 2),
    }
    return Payload(data, rows=[list(data.values())])


# --- getRated / getVisitorfeedback --------------------------------------------------------------

RATED_DAYS = 25  # ekomi/api-php's default (laravel-ekomi sends 8)
VISITOR_DAYS = 8


def get_rated(shop: Shop, params) -> Payload:
    """The orders whose rating link was used in the last ``days``: shops stop their own
    reminders for these."""
    since = timezone.now() - datetime.timedelta(days=days_of(params) or RATED_DAYS)
    rated = (
        Invitation.objects.for_company(shop.company_id)
        .filter(shop=shop, used_at__gte=since)
        .select_related("order")
        .order_by("-used_at", "-id")
    )
    data = [{"order_id": inv.order.order_id, "rated": unix(inv.used_at)} for inv in rated]
    return Payload(data, rows=[list(entry.values()) for entry in data])


def get_visitorfeedback(shop: Shop, params) -> Payload:
    """Published reviews without an order (R14: they never count towards the average)."""
    since = timezone.now() - datetime.timedelta(days=days_of(params) or VISITOR_DAYS)
    reviews = (
        Review.objects.for_company(shop.company_id)
        .filter(
            shop=shop,
            kind=Review.Kind.MERCHANT,
            status=Review.Status.PUBLISHED,
            is_transaction_based=False,
            submitted_at__gte=since,
        )
        .select_related("invitation__order", "product", "company_comment")
        .order_by("-submitted_at", "-id")
    )
    return _review_payload(reviews, ["date", "rating", "feedback", "comment"])


# --- getSettings / getDialog --------------------------------------------------------------------


def get_settings(shop: Shop, params) -> Payload:
    """The credential check of every plugin; answers the shop's mail settings (v2 keys)."""
    template = (
        EmailTemplate.objects.for_company(shop.company_id)
        .filter(shop=shop, kind=EmailTemplate.Kind.INVITATION, locale=shop.default_locale)
        .first()
    )
    data = {
        "mail_subject": template.subject if template else "",
        "mail_plain": template.body if template else "",
        "mail_html": "",
        "mail_delay": shop.invitation_delay_days,
        "mail_from_name": shop.name,
        "mail_from_email": settings.DEFAULT_FROM_EMAIL,
        "certificate_url": settings.SITE_URL
        + reverse("seals:certificate", kwargs={"slug": shop.slug}),
    }
    return Payload(data, rows=[list(data.values())])


def get_dialog(shop: Shop, params) -> Payload:
    """Delivered dialogue messages of both sides, per order, in the asked range."""
    messages = DialogueMessage.objects.for_company(shop.company_id).filter(
        shop=shop, status=DialogueMessage.Status.PUBLISHED
    )
    since = since_for_range(params)
    if since is not None:
        messages = messages.filter(created_at__gte=since)
    messages = messages.select_related("thread__review__invitation__order").order_by("id")
    data = [_dialog_entry(message) for message in messages]
    return Payload(data, rows=[list(entry.values()) for entry in data])


def _dialog_entry(message: DialogueMessage) -> dict[str, object]:
    invitation = message.thread.review.invitation
    return {
        "submitted": unix(message.published_at or message.created_at),
        "order_id": invitation.order.order_id if invitation else "",
        "sender": message.sender,
        "message": message.text,
        "status": message.thread.status,
    }
