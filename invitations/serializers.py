"""API serializers for orders (``/api/v1/orders``)."""

from __future__ import annotations

from rest_framework import serializers

from companies.serializers import StrictSerializer
from invitations.ingest import ItemInput, OrderInput, normalize_email

LOCALES = ("en", "de")


EARLIEST_YEAR, LATEST_YEAR = 1990, 2099


def _plausible_date(value):
    """Dates outside 1990-2099 are typing errors, and near the year 9999 arithmetic overflows."""
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise serializers.ValidationError(
            f"Enter a date between {EARLIEST_YEAR} and {LATEST_YEAR}."
        )
    return value


class ItemSerializer(StrictSerializer):
    product_id = serializers.CharField(max_length=255)
    name = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    brand = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    gtin = serializers.RegexField(
        r"^[0-9]{8,14}$",
        required=False,
        allow_blank=True,
        default="",
        error_messages={"invalid": "A GTIN has 8 to 14 digits."},
    )
    mpn = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    sku = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    image_url = serializers.URLField(max_length=1000, required=False, allow_blank=True, default="")
    link = serializers.URLField(max_length=1000, required=False, allow_blank=True, default="")

    def to_internal_value(self, data):
        return ItemInput(**super().to_internal_value(data))


class OrderSerializer(StrictSerializer):
    order_id = serializers.CharField(max_length=255)
    # Validated by email-validator (internationalized addresses, RFC 6531), not Django's ASCII
    # validator, so müller@bücher.de is accepted and stored in one canonical form (IN-4).
    email = serializers.CharField(max_length=254)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    locale = serializers.ChoiceField(choices=LOCALES, required=False, default="")
    order_date = serializers.DateTimeField()
    delivery_date = serializers.DateTimeField(required=False, allow_null=True, default=None)
    items = ItemSerializer(many=True, required=False, default=list, max_length=200)
    consent = serializers.BooleanField(required=False, default=True)
    invite = serializers.BooleanField(
        required=False,
        default=True,
        help_text="false only for shops with a staff-approved selection group (R8)",
    )

    def validate_order_date(self, value):
        return _plausible_date(value)

    def validate_delivery_date(self, value):
        return _plausible_date(value) if value is not None else value

    def validate_email(self, value: str) -> str:
        try:
            return normalize_email(value)
        except ValueError as exc:
            raise serializers.ValidationError(f"Enter a valid email address: {exc}") from exc

    def validate(self, attrs):
        if attrs.get("delivery_date") and attrs["delivery_date"] < attrs["order_date"]:
            raise serializers.ValidationError(
                {"delivery_date": "Delivery cannot precede the order."}
            )
        return attrs

    @staticmethod
    def as_input(values: dict) -> OrderInput:
        return OrderInput(
            order_id=values["order_id"],
            email=values["email"],
            first_name=values["first_name"],
            last_name=values["last_name"],
            locale=values["locale"],
            ordered_at=values["order_date"],
            delivered_at=values["delivery_date"],
            consent=values["consent"],
            invite=values["invite"],
            items=tuple(values["items"]),
        )


class InvitationStatusSerializer(serializers.Serializer):
    """What a shop may know of an invitation: status and times, never the token (AU-1)."""

    id = serializers.UUIDField(source="public_id")
    status = serializers.CharField()
    suppression_reason = serializers.CharField()
    due_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField()
    reminders_sent = serializers.IntegerField()
    rated_at = serializers.DateTimeField(source="used_at")
    expires_at = serializers.DateTimeField()


class OrderStatusSerializer(serializers.Serializer):
    """``GET /api/v1/orders/{order_id}``: the order and its invitation's status."""

    order_id = serializers.CharField()
    order_date = serializers.DateTimeField(source="ordered_at")
    delivery_date = serializers.DateTimeField(source="delivered_at")
    locale = serializers.CharField()
    consent = serializers.BooleanField()
    invitation = InvitationStatusSerializer(allow_null=True)


class IngestResultSerializer(serializers.Serializer):
    order_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["created", "known", "rejected"])
    invitation = InvitationStatusSerializer(allow_null=True)
    code = serializers.CharField(required=False)
    reason = serializers.CharField(required=False)


class IngestSummarySerializer(serializers.Serializer):
    created = serializers.IntegerField()
    known = serializers.IntegerField()
    rejected = serializers.IntegerField()


class IngestAnswerSerializer(serializers.Serializer):
    """The answer to ``POST /api/v1/orders``: one result per order, in the order sent."""

    summary = IngestSummarySerializer()
    results = IngestResultSerializer(many=True)

    @staticmethod
    def from_results(results) -> dict:
        summary = {"created": 0, "known": 0, "rejected": 0}
        rows = []
        for result in results:
            summary[result.outcome] += 1
            row = {
                "order_id": result.order_id,
                "status": result.outcome,
                "invitation": InvitationStatusSerializer(result.invitation).data
                if result.invitation is not None
                else None,
            }
            if result.outcome == "rejected":
                row.update(code=result.code, reason=result.reason)
            rows.append(row)
        return {"summary": summary, "results": rows}
