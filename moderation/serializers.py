"""API serializers of the moderation app: complaints and customer dialogue (R20, R22)."""

from __future__ import annotations

from rest_framework import serializers

from companies.serializers import StrictSerializer
from moderation.dialogue import MAX_MESSAGE
from moderation.models import Complaint
from reviews.models import DialogueMessage


class ComplaintSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    review = serializers.UUIDField(source="review.public_id", read_only=True)

    class Meta:
        model = Complaint
        fields = [
            "id",
            "review",
            "reason",
            "explanation",
            "status",
            "out_of_time",
            "outcome",
            "decision_note",
            "decided_at",
            "created_at",
        ]
        read_only_fields = fields


class ComplaintInputSerializer(StrictSerializer):
    review = serializers.UUIDField(help_text="the review's id from /api/v1/reviews")
    reason = serializers.ChoiceField(choices=Complaint.ReasonCode.choices)
    explanation = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )


class DialogueMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = DialogueMessage
        fields = ["id", "sender", "text", "status", "created_at"]
        read_only_fields = fields


class DialogueSerializer(serializers.Serializer):
    available = serializers.BooleanField(help_text="the evaluator left an address for dialogue")
    status = serializers.CharField(allow_null=True, help_text="open, ended, or null if none yet")
    messages = DialogueMessageSerializer(many=True)


class DialogueMessageInputSerializer(StrictSerializer):
    text = serializers.CharField(max_length=MAX_MESSAGE)
