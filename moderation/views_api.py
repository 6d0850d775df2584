"""``/api/v1/complaints`` and ``/api/v1/reviews/{id}/dialogue`` (R20, R22).

Companies complain about their shop's published reviews; a complaint never hides the review.
Customer dialogue is only there if the evaluator left an address, which the company never sees.
Another company's review or complaint answers 404 like a missing one (R4).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from companies.api import ShopScopedViewSet
from moderation import complaints, dialogue
from moderation.models import Complaint
from moderation.serializers import (
    ComplaintInputSerializer,
    ComplaintSerializer,
    DialogueMessageInputSerializer,
    DialogueMessageSerializer,
    DialogueSerializer,
)
from reviews.models import DialogueMessage, DialogueThread, Review
from reviews.views_api import UUID_PATTERN


def _published_review(view: ShopScopedViewSet, public_id) -> Review | None:
    return (
        Review.objects.for_company(view.request.auth.company_id)
        .filter(shop_id=view.request.auth.shop_id, public_id=public_id)
        .filter(status=Review.Status.PUBLISHED)
        .first()
    )


class ComplaintViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopScopedViewSet):
    """The shop's complaints about its reviews, newest first."""

    model = Complaint
    serializer_class = ComplaintSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "complaint_id"
    lookup_value_regex = UUID_PATTERN

    def scope_queryset(self, queryset):
        return queryset.select_related("review").order_by("-created_at", "-id")

    @extend_schema(
        request=ComplaintInputSerializer,
        responses={201: ComplaintSerializer},
        description="Complain about a published review of this shop. The review stays visible "
        "while the complaint is open; a complaint more than 12 months after publication is "
        "accepted and marked out of time (R20).",
    )
    def create(self, request):
        serializer = ComplaintInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        review = _published_review(self, data["review"])
        if review is None:
            raise ValidationError({"review": ["No published review of this shop has this id."]})
        complaint = complaints.complaint_file(
            review=review,
            source=Complaint.Source.COMPANY,
            reason=data["reason"],
            explanation=data["explanation"],
        )
        complaint.review = review
        return Response(ComplaintSerializer(complaint).data, status=status.HTTP_201_CREATED)


class DialogueViewSet(ShopScopedViewSet):
    """The customer dialogue about one review: read it (GET), write to the evaluator (POST)."""

    model = DialogueMessage
    serializer_class = DialogueMessageSerializer

    def _review(self) -> Review:
        review = _published_review(self, self.kwargs["review_id"])
        if review is None:
            raise NotFound()
        return review

    @extend_schema(responses={200: DialogueSerializer})
    def list(self, request, review_id=None):
        review = self._review()
        thread = DialogueThread.objects.for_company(review.company_id).filter(review=review).first()
        messages = dialogue.messages_for_company(thread) if thread else []
        payload = {
            "available": dialogue.dialogue_available(review),
            "status": thread.status if thread else None,
            "messages": DialogueMessageSerializer(messages, many=True).data,
        }
        return Response(payload)

    @extend_schema(
        request=DialogueMessageInputSerializer,
        responses={201: DialogueMessageSerializer},
        description="Write to the evaluator. 409 if they left no address for dialogue or ended "
        "it. The message is checked like every comment; unclear ones wait for a moderator.",
    )
    def create(self, request, review_id=None):
        review = self._review()
        serializer = DialogueMessageInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            message = dialogue.dialogue_company_write(
                review=review, text=serializer.validated_data["text"]
            )
        except dialogue.DialogueUnavailable as exc:
            return _conflict(exc)
        except dialogue.DialogueEnded as exc:
            return _conflict(exc)
        except dialogue.DialogueError as exc:
            raise ValidationError({"text": [str(exc)]}) from exc
        return Response(DialogueMessageSerializer(message).data, status=status.HTTP_201_CREATED)


def _conflict(exc: dialogue.DialogueError) -> Response:
    return Response({"detail": str(exc), "code": exc.code}, status=status.HTTP_409_CONFLICT)
