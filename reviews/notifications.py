"""Emails of the reviews app: the confirmation of a visitor's review (R14)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from companies.tenancy import tenant_scope
from privacy.tokens import erasure_url
from reviews.models import Review

logger = logging.getLogger(__name__)


def review_confirmation_send(*, review_id: int) -> bool:
    """Send the confirmation link; nothing when the review is gone or already confirmed."""
    from reviews.services import visitor_confirmation_token

    company_id = (
        Review.objects.unscoped().filter(pk=review_id).values_list("company_id", flat=True).first()
    )
    if company_id is None:
        return False
    with tenant_scope(company_id):
        review = Review.objects.select_related("shop").get(pk=review_id)
        if review.status != Review.Status.PENDING or not review.author_email:
            return False
        url = settings.SITE_URL + reverse(
            "reviews:visitor-confirm", args=[visitor_confirmation_token(review)]
        )
        # R42, GD-1: every email to an evaluator links to erasing their data.
        context = {
            "shop": review.shop,
            "confirm_url": url,
            "erasure_link": erasure_url(review=review),
        }
        with translation.override(review.shop.default_locale):
            message = EmailMultiAlternatives(
                subject=render_to_string("emails/review_confirmation_subject.txt", context)
                .strip()
                .replace("\n", " "),
                body=render_to_string("emails/review_confirmation.txt", context),
                to=[review.author_email],
                headers={"Auto-Submitted": "auto-generated"},
            )
            message.attach_alternative(
                render_to_string("emails/review_confirmation.html", context), "text/html"
            )
        message.send()
    logger.info("review confirmation sent for review %s", review_id)
    return True
