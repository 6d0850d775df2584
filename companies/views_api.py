"""``/api/v1/products``: the shop's product catalogue."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from companies import services
from companies.api import ShopScopedViewSet
from companies.models import Product
from companies.serializers import ProductSerializer


class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopScopedViewSet):
    """List, read and create-or-replace products by the shop's own ``product_id``."""

    model = Product
    serializer_class = ProductSerializer
    lookup_field = "product_id"
    lookup_value_regex = r"[^/]{1,255}"

    def scope_queryset(self, queryset):
        return queryset.order_by("product_id")

    @extend_schema(
        request=ProductSerializer, responses={200: ProductSerializer, 201: ProductSerializer}
    )
    def update(self, request, product_id: str):
        serializer = ProductSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product, created = services.product_upsert(
            shop=self.shop, product_id=product_id, **serializer.validated_data
        )
        return Response(
            ProductSerializer(product).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
