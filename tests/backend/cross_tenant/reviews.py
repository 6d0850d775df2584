"""Matrix rows for the review pages (/backend/reviews/, R4, TI-1)."""

from __future__ import annotations

from moderation.models import Complaint
from reviews.models import Review
from tests import factories
from tests.moderation import factories as moderation_factories

ROWS = {
    # B's own list: B's shop only, nothing of A.
    "review-list": ("get", "/backend/reviews/", {}, 200),
    # A's product id is not a product of B's shop: a form error, so back to the list.
    "review-export": ("get", "/backend/reviews/export.csv", {"product": "{reviews_product}"}, 302),
    "review-detail": ("get", "/backend/reviews/{reviews_review}/", {}, 404),
    "review-comment": (
        "post",
        "/backend/reviews/{reviews_review}/comment/",
        {"text": "stolen"},
        404,
    ),
    "review-comment-delete": (
        "post",
        "/backend/reviews/{reviews_review}/comment/delete/",
        {"confirm": "yes"},
        404,
    ),
    "review-dialogue": (
        "post",
        "/backend/reviews/{reviews_review}/dialogue/",
        {"text": "Hello from B"},
        404,
    ),
    "review-complaint": (
        "post",
        "/backend/reviews/{reviews_review}/complaints/",
        {"reason": "untrue", "explanation": "B complains"},
        404,
    ),
}


def seed(company, shop) -> dict:
    product = factories.ProductFactory(shop=shop, name="ACME-A Widget")
    review = factories.ReviewFactory(
        shop=shop,
        kind=Review.Kind.PRODUCT,
        product=product,
        comment="ACME-A parcel arrived broken",
        dialogue_email="acme-a-buyer@example.net",
    )
    moderation_factories.CompanyCommentFactory(shop=shop, review=review, text="ACME-A thanks")
    thread = moderation_factories.DialogueThreadFactory(shop=shop, review=review)
    moderation_factories.DialogueMessageFactory(shop=shop, thread=thread, text="ACME-A asks")
    moderation_factories.ComplaintFactory(shop=shop, review=review, source=Complaint.Source.COMPANY)
    return {"reviews_review": review.pk, "reviews_product": product.pk}
