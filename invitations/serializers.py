"""API serializers for orders (``/api/v1/orders``).

A bulk request carries up to 10,000 orders, and DRF's per-field machinery costs more than
storing them. So ``orders_from_plain_payload`` checks the same rules in plain Python first and
decides only what it can decide exactly as ``OrderSerializer`` would; at the first value it
cannot (anything wrong, or merely unusual, like a number where a string belongs), the whole
payload goes through ``OrderSerializer``, which then accepts it or reports every error with its
usual messages. The serializer stays the definition: the schema, the messages, the edge cases.
"""

from __future__ import annotations

import datetime
import functools
import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from rest_framework import serializers

from companies.serializers import StrictSerializer
from invitations.ingest import ItemInput, OrderInput, normalize_email

LOCALES = ("en", "de")


EARLIEST_YEAR, LATEST_YEAR = 1990, 2099
GTIN_PATTERN = r"^[0-9]{8,14}$"
MAX_ITEMS_PER_ORDER = 200


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
        GTIN_PATTERN,
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
    items = ItemSerializer(many=True, required=False, default=list, max_length=MAX_ITEMS_PER_ORDER)
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


class _Undecided(Exception):
    """The fast path met a value it does not judge itself: OrderSerializer decides."""


ORDER_FIELDS = frozenset(OrderSerializer._declared_fields)
ITEM_FIELDS = frozenset(ItemSerializer._declared_fields)
# What CharField's validators refuse besides length: NUL and lone surrogates.
_UNSAFE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
_GTIN = re.compile(GTIN_PATTERN)  # searched, as RegexField's validator does
_URL = URLValidator()
_DATETIME = serializers.DateTimeField()
_MISSING = object()


def _text(value, *, max_length: int, blank: bool = False) -> str:
    """What CharField (trimmed) makes of a plain string."""
    if type(value) is not str:
        raise _Undecided
    value = value.strip()
    if not value:
        if blank:
            return ""
        raise _Undecided
    if len(value) > max_length or _UNSAFE_CHARACTERS.search(value):
        raise _Undecided
    return value


def _optional_text(data: dict, name: str, max_length: int) -> str:
    value = data.get(name, _MISSING)
    return "" if value is _MISSING else _text(value, max_length=max_length, blank=True)


def _url(data: dict, name: str) -> str:
    value = _optional_text(data, name, 1000)
    if value:
        try:
            _URL(value)
        except DjangoValidationError:
            raise _Undecided from None
    return value


def _datetime(value) -> datetime.datetime:
    """DateTimeField's own parsing (ISO 8601, made aware in the current time zone)."""
    if type(value) is not str:
        raise _Undecided
    try:
        return _plausible_date(_DATETIME.to_internal_value(value))
    except serializers.ValidationError:
        raise _Undecided from None


def _flag(data: dict, name: str) -> bool:
    value = data.get(name, True)
    if value is not True and value is not False:
        raise _Undecided
    return value


def _item(data) -> ItemInput:
    if type(data) is not dict or not data.keys() <= ITEM_FIELDS:
        raise _Undecided
    gtin = _optional_text(data, "gtin", 14)
    if gtin and not _GTIN.search(gtin):
        raise _Undecided
    return ItemInput(
        product_id=_text(data.get("product_id"), max_length=255),
        name=_optional_text(data, "name", 500),
        brand=_optional_text(data, "brand", 200),
        gtin=gtin,
        mpn=_optional_text(data, "mpn", 100),
        sku=_optional_text(data, "sku", 100),
        image_url=_url(data, "image_url"),
        link=_url(data, "link"),
    )


def _items(data: dict) -> tuple[ItemInput, ...]:
    items = data.get("items", _MISSING)
    if items is _MISSING:
        return ()
    if type(items) is not list or len(items) > MAX_ITEMS_PER_ORDER:
        raise _Undecided
    return tuple(_item(item) for item in items)


def _order(data) -> OrderInput:
    if type(data) is not dict or not data.keys() <= ORDER_FIELDS:
        raise _Undecided
    locale = data.get("locale", _MISSING)
    if locale is _MISSING:
        locale = ""
    elif type(locale) is not str or locale not in LOCALES:
        raise _Undecided
    ordered_at = _datetime(data.get("order_date"))
    delivered_at = data.get("delivery_date")
    if delivered_at is not None:
        delivered_at = _datetime(delivered_at)
        if delivered_at < ordered_at:
            raise _Undecided
    try:
        email = normalize_email(_text(data.get("email"), max_length=254))
    except ValueError:
        raise _Undecided from None
    return OrderInput(
        order_id=_text(data.get("order_id"), max_length=255),
        email=email,
        first_name=_optional_text(data, "first_name", 150),
        last_name=_optional_text(data, "last_name", 150),
        locale=locale,
        ordered_at=ordered_at,
        delivered_at=delivered_at,
        consent=_flag(data, "consent"),
        invite=_flag(data, "invite"),
        items=_items(data),
    )


def orders_from_plain_payload(payload: list) -> list[OrderInput] | None:
    """Every order as ``OrderSerializer`` would validate it, or None when any order needs the
    serializer's judgement (it is invalid, or unusual in a way only the serializer decides)."""
    try:
        return [_order(data) for data in payload]
    except _Undecided:
        return None


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
        # Most invitations of one call share their times: each is formatted once.
        moment = functools.cache(_DATETIME.to_representation)
        summary = {"created": 0, "known": 0, "rejected": 0}
        rows = []
        for result in results:
            summary[result.outcome] += 1
            row = {
                "order_id": result.order_id,
                "status": result.outcome,
                "invitation": invitation_status(result.invitation, moment)
                if result.invitation is not None
                else None,
            }
            if result.outcome == "rejected":
                row.update(code=result.code, reason=result.reason)
            rows.append(row)
        return {"summary": summary, "results": rows}


def invitation_status(invitation, moment=_DATETIME.to_representation) -> dict:
    """What ``InvitationStatusSerializer`` answers for an invitation, built directly: 10,000
    of them through DRF's field machinery cost more than storing them."""
    return {
        "id": str(invitation.public_id),
        "status": str(invitation.status),
        "suppression_reason": str(invitation.suppression_reason),
        "due_at": moment(invitation.due_at),
        "sent_at": moment(invitation.sent_at),
        "reminders_sent": int(invitation.reminders_sent),
        "rated_at": moment(invitation.used_at),
        "expires_at": moment(invitation.expires_at),
    }
