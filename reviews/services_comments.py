"""Company comments: one public reply per review, editable, checked like any comment (R22,
004 §2.18, §8.1-8.2).

The automatic check (``moderation.checks``) stars out clear cases (personal data is never
allowed in a company comment) and holds unclear ones for a moderator. What it found stays on
the row as ``moderation_check`` for the moderation app to record. After commit
``review_changed`` retires the shop's public caches, so the comment shows everywhere at once.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from companies.tenancy import tenant_scope
from moderation import checks
from reviews.models import CompanyComment, Review
from reviews.signals import review_changed

MAX_COMMENT = 5000


class CommentError(Exception):
    code = "comment_error"


class ReviewNotPublished(CommentError):
    code = "review_not_published"


def _announce(review: Review) -> None:
    company_id, shop_id = review.company_id, review.shop_id
    transaction.on_commit(
        lambda: review_changed.send(
            sender=Review, company_id=company_id, shop_id=shop_id, product_ids=set()
        )
    )


def company_comment_set(*, review: Review, text: str, user=None) -> CompanyComment:
    """Write or replace the company's comment under a published review."""
    text = text.strip()
    if not text:
        raise CommentError("A comment needs some text.")
    with tenant_scope(review.company_id), transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review.pk)
        if review.status != Review.Status.PUBLISHED:
            raise ReviewNotPublished("Only a published review can be commented on.")
        comment = CompanyComment.objects.filter(review=review).first()
        if comment is None:
            comment = CompanyComment(
                company_id=review.company_id, shop_id=review.shop_id, review=review, version=0
            )
        result = checks.check_text(text[:MAX_COMMENT])
        published = result.decision == checks.PUBLISH
        comment.version += 1
        comment.submitted_text, comment.text = text[:MAX_COMMENT], result.text
        comment.status = (
            CompanyComment.Status.PUBLISHED if published else CompanyComment.Status.HELD
        )
        comment.published_at = timezone.now() if published else None
        comment.edited_by = user
        comment.moderation_check = result
        comment.save()
        _announce(review)
    return comment


def company_comment_delete(*, review: Review) -> bool:
    """The company takes its comment back; True if there was one."""
    with tenant_scope(review.company_id), transaction.atomic():
        deleted, _ = CompanyComment.objects.filter(review_id=review.pk).delete()
        if deleted:
            _announce(review)
    return bool(deleted)
