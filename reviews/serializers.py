"""API serializers for reviews and company comments (``/api/v1/reviews``, R22).

Nothing here ever carries the evaluator's addresses (R16): a review says only whether customer
dialogue is available.
"""

from __future__ import annotations

from rest_framework import serializers

from companies.serializers import StrictSerializer
from reviews.models import CompanyComment, Review
from reviews.services_comments import MAX_COMMENT


class CompanyCommentSerializer(serializers.ModelSerializer):
    class Meta:
        model = CompanyComment
        fields = ["text", "status", "version", "published_at", "updated_at"]
        read_only_fields = fields


class CompanyCommentInputSerializer(StrictSerializer):
    text = serializers.CharField(max_length=MAX_COMMENT, trim_whitespace=True)


class ReviewSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    product_id = serializers.SerializerMethodField()
    company_comment = serializers.SerializerMethodField()
    dialogue_available = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "kind",
            "product_id",
            "rating",
            "comment",
            "display_name",
            "is_transaction_based",
            "submitted_at",
            "published_at",
            "company_comment",
            "dialogue_available",
        ]
        read_only_fields = fields

    def get_product_id(self, review: Review) -> str | None:
        return review.product.product_id if review.product_id else None

    def get_company_comment(self, review: Review) -> dict | None:
        comment = getattr(review, "company_comment", None)
        if comment is None or comment.status == CompanyComment.Status.REMOVED:
            return None
        return CompanyCommentSerializer(comment).data

    def get_dialogue_available(self, review: Review) -> bool:
        return bool(review.dialogue_email)
