"""``/api/v1/orders``: orders in (single or bulk), invitation status out (R5-R8)."""

from __future__ import annotations

import json

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from companies.api import ShopScopedViewSet
from invitations import idempotency
from invitations.ingest import MAX_ORDERS_PER_CALL, orders_ingest
from invitations.models import Order
from invitations.serializers import (
    IngestAnswerSerializer,
    OrderSerializer,
    OrderStatusSerializer,
    orders_from_plain_payload,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string up to 255 characters; a retry with the same key and body "
    "returns the first answer, a different body is refused with 422. Kept 24 hours.",
)


class OrderViewSet(mixins.RetrieveModelMixin, ShopScopedViewSet):
    model = Order
    serializer_class = OrderStatusSerializer
    lookup_field = "order_id"
    lookup_value_regex = r"[^/]{1,255}"

    def scope_queryset(self, queryset):
        return queryset.select_related("invitation")

    @extend_schema(
        request=OrderSerializer(many=True),
        responses={200: IngestAnswerSerializer, 201: IngestAnswerSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        description="One order (an object) or up to 10,000 (a list). Every order gets exactly "
        "one invitation; posting a known order id again changes nothing (R5).",
    )
    def create(self, request):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return self._ingest(request)
        return self._ingest_idempotently(request, key)

    def _ingest_idempotently(self, request, key: str):
        if not key or len(key) > idempotency.MAX_KEY_LENGTH:
            raise ValidationError({"Idempotency-Key": ["Send 1 to 255 characters."]})
        # One transaction for the claim, the orders and the stored answer: if the database goes
        # away half-way (FA-5), all three are gone together and a retry with the key runs again,
        # instead of finding a claim nobody will ever complete. A concurrent request with the
        # same key waits on the claim's unique index and then replays the stored answer.
        with transaction.atomic():
            claim = idempotency.idempotency_claim(
                shop=self.shop,
                key=key,
                fingerprint=idempotency.request_fingerprint(
                    method=request.method, path=request.path, body=request.body
                ),
            )
            if claim.record is None:
                return self._answer_claimed(claim)
            response = self._ingest(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)  # no answer to keep: the claim goes too
            else:
                idempotency.idempotency_complete(
                    record=claim.record,
                    status_code=response.status_code,
                    body=json.dumps(response.data).encode(),
                )
        return response

    @staticmethod
    def _answer_claimed(claim) -> Response:
        """The key is taken: a different body, a request still running, or a stored answer."""
        if claim.conflict == "mismatch":
            return Response(
                {
                    "detail": "This Idempotency-Key was used with a different request body.",
                    "code": "idempotency_key_reused",
                },
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        if claim.conflict == "in_flight":
            return Response(
                {
                    "detail": "A request with this Idempotency-Key is still being processed.",
                    "code": "idempotency_key_in_flight",
                },
                status=status.HTTP_409_CONFLICT,
                headers={"Retry-After": "1"},
            )
        return Response(
            json.loads(claim.replay.response_body),
            status=claim.replay.status_code,
            headers={"Idempotent-Replayed": "true"},
        )

    def _ingest(self, request):
        payload = request.data
        single = isinstance(payload, dict)
        items = [payload] if single else payload
        if not isinstance(items, list):
            raise ValidationError({"detail": "Send one order object or a list of orders."})
        if not items:
            raise ValidationError({"detail": "The list of orders is empty."})
        if len(items) > MAX_ORDERS_PER_CALL:
            raise ValidationError(
                {
                    "detail": f"Send at most {MAX_ORDERS_PER_CALL} orders per request, "
                    f"not {len(items)}.",
                    "code": "too_many_orders",
                }
            )
        orders, errors = self._validate(items)
        if errors:
            return Response(
                {
                    "detail": "Nothing was stored: fix these orders and send them again.",
                    "code": "invalid_orders",
                    "errors": errors,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        results = orders_ingest(shop=self.shop, orders=orders)
        answer = IngestAnswerSerializer.from_results(results)
        if single:
            code = {"created": 201, "known": 200}.get(results[0].outcome, 422)
            return Response(answer["results"][0], status=code)
        code = 201 if answer["summary"]["created"] else 200
        return Response(answer, status=code)

    @staticmethod
    def _validate(items):
        orders = orders_from_plain_payload(items)
        if orders is not None:
            return orders, []
        # One list serializer: its child's fields are built once, not once per order.
        serializer = OrderSerializer(data=items, many=True)
        if serializer.is_valid():
            return [OrderSerializer.as_input(values) for values in serializer.validated_data], []
        raw = serializer.errors
        # DRF answers per-item errors as a dict keyed by index (or a list with {} for good items).
        by_index = raw if isinstance(raw, dict) else dict(enumerate(raw))
        errors = [
            {
                "index": index,
                "order_id": items[index].get("order_id")
                if isinstance(items[index], dict)
                else None,
                "errors": item_errors,
            }
            for index, item_errors in sorted(by_index.items())
            if item_errors and isinstance(index, int)
        ]
        if not errors:  # an error about the list as a whole
            errors = [{"index": None, "order_id": None, "errors": raw}]
        return [], errors
