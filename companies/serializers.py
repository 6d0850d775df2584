"""API serializers of the companies app."""

from __future__ import annotations

from rest_framework import serializers

from companies.models import Product


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so nobody can try to set server-owned values (TI-2)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field is not accepted."] for name in unknown}
                )
        return super().to_internal_value(data)


class ProductSerializer(StrictSerializer, serializers.ModelSerializer):
    product_id = serializers.CharField(read_only=True)

    class Meta:
        model = Product
        fields = [
            "product_id",
            "name",
            "brand",
            "gtin",
            "mpn",
            "sku",
            "image_url",
            "link",
            "updated_at",
        ]
        read_only_fields = ["product_id", "updated_at"]
        extra_kwargs = {"gtin": {"help_text": "8 to 14 digits"}}

    def validate_gtin(self, value: str) -> str:
        if value and not (value.isdigit() and 8 <= len(value) <= 14):
            raise serializers.ValidationError("A GTIN has 8 to 14 digits.")
        return value
