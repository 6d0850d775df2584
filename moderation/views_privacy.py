"""``POST /api/v1/erasures``: the company erases one evaluator's data (R42, GD-1).

The evaluator is named by order id or email address within the authenticated shop. Another
company's (or shop's) order id answers 404 exactly like a missing one and changes nothing (R4).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from companies.api import ShopScopedViewSet
from companies.serializers import StrictSerializer
from invitations.models import Invitation
from moderation import erasure


class ErasureInputSerializer(StrictSerializer):
    order_id = serializers.CharField(max_length=255, required=False, allow_blank=False)
    email = serializers.EmailField(required=False)
    mode = serializers.ChoiceField(choices=erasure.MODES, default=erasure.ANONYMISE)

    def validate(self, attrs):
        if not (attrs.get("order_id") or attrs.get("email")):
            raise serializers.ValidationError("Give an order_id or an email.")
        return attrs


class ErasureSerializer(serializers.Serializer):
    mode = serializers.CharField()
    invitations = serializers.IntegerField()
    reviews = serializers.IntegerField()
    references = serializers.ListField(child=serializers.CharField())


class ErasureViewSet(ShopScopedViewSet):
    """Erase an evaluator's personal data; the answer carries only pseudonymous references."""

    model = Invitation
    serializer_class = ErasureInputSerializer

    @extend_schema(
        request=ErasureInputSerializer,
        responses={201: ErasureSerializer},
        description="Erase one evaluator's data in this shop, found by order id or email "
        "address: the invitation's personal data goes, their reviews are anonymised (stars "
        "stay) or deleted, averages and seals are recomputed (R42, GD-1).",
    )
    def create(self, request):
        serializer = ErasureInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            result = erasure.evaluator_erase(
                company=request.auth.company_id,
                shop=request.auth.shop_id,
                order_id=data.get("order_id"),
                email=data.get("email"),
                mode=data["mode"],
            )
        except erasure.EvaluatorNotFound as error:
            raise NotFound() from error
        body = {
            "mode": data["mode"],
            "invitations": result.invitations,
            "reviews": result.reviews,
            "references": list(result.references),
        }
        return Response(ErasureSerializer(body).data, status=status.HTTP_201_CREATED)
