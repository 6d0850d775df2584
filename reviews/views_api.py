"""``/api/v1/reviews``: the shop's published reviews with company comments (R22).

``GET /reviews`` and ``GET /reviews/{id}`` list and read published reviews; ``GET``, ``PUT``
and ``DELETE /reviews/{id}/comment`` read, write and withdraw the company's public comment. A
review of another shop or company answers 404 like a missing one (R4).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from companies.api import ShopScopedViewSet
from reviews import services_comments
from reviews.models import CompanyComment, Review
from reviews.serializers import (
    CompanyCommentInputSerializer,
    CompanyCommentSerializer,
    ReviewSerializer,
)

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class ReviewPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopScopedViewSet):
    """Published reviews of the shop, newest first, each with its company comment."""

    model = Review
    serializer_class = ReviewSerializer
    pagination_class = ReviewPagination
    lookup_field = "public_id"
    lookup_url_kwarg = "review_id"
    lookup_value_regex = UUID_PATTERN

    def scope_queryset(self, queryset):
        return (
            queryset.filter(status=Review.Status.PUBLISHED)
            .select_related("product", "company_comment")
            .order_by("-submitted_at", "-id")
        )

    @extend_schema(
        methods=["GET"], responses={200: CompanyCommentSerializer}, summary="Company comment"
    )
    @extend_schema(
        methods=["PUT"],
        request=CompanyCommentInputSerializer,
        responses={200: CompanyCommentSerializer, 201: CompanyCommentSerializer},
        description="Write or replace the one public comment under this review. It is checked "
        "like every comment: personal data, profanity and links are starred out; unclear "
        "texts wait for a moderator (status 'held').",
    )
    @extend_schema(methods=["DELETE"], responses={204: None})
    @action(detail=True, methods=["get", "put", "delete"], url_path="comment")
    def comment(self, request, review_id=None):
        review = self.get_object()
        current = CompanyComment.objects.for_company(review.company_id).filter(review=review)
        if request.method == "GET":
            comment = current.exclude(status=CompanyComment.Status.REMOVED).first()
            if comment is None:
                raise NotFound("This review has no company comment.")
            return Response(CompanyCommentSerializer(comment).data)
        if request.method == "DELETE":
            if not services_comments.company_comment_delete(review=review):
                raise NotFound("This review has no company comment.")
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = CompanyCommentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        existed = current.exists()
        try:
            comment = services_comments.company_comment_set(
                review=review, text=serializer.validated_data["text"]
            )
        except services_comments.CommentError as exc:
            raise ValidationError({"text": [str(exc)]}) from exc
        return Response(
            CompanyCommentSerializer(comment).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )
