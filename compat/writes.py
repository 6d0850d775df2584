"""The v3 write methods: putOrder, putProduct, putClient, assignClientOrder, putComment,
putDialog. Each parses the query and calls the platform's own service (STYLE.md 1).

Mapping of eKomi's client entity: the platform has none. ``putClient`` keeps the client's
email, names and locale in the cache for ``CLIENT_TTL`` (keyed by shop and ``client_id``);
``assignClientOrder`` copies them onto the order's invitation (email, first and last name),
which is where the platform keeps an evaluator's contact data (R11). ``putClient`` with an
``order_id`` does both at once.
"""

from __future__ import annotations

import datetime
import json
import re
from urllib.parse import unquote_plus

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from companies.models import Product, Shop
from companies.services import product_upsert
from compat import php
from compat.protocol import BAD_REQUEST, ApiError, Payload, unix
from invitations import tokens
from invitations.ingest import ItemInput, OrderInput, normalize_email, orders_ingest
from invitations.models import Invitation, Order, OrderItem
from moderation.dialogue import DialogueEnded, DialogueUnavailable, dialogue_company_write
from reviews.models import Review
from reviews.services_comments import (
    CommentError,
    company_comment_delete,
    company_comment_set,
)

ORDER_NOT_FOUND = "Order-ID not found."
DATE_ERROR = "Invalid date. Expected: YYYY-MM-DD"
CLIENT_TTL = datetime.timedelta(days=30)
MAX_ID = 255
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
LIMITS = {"name": 500, "brand": 200, "gtin": 14, "mpn": 100, "image_url": 1000, "link": 1000}


def _done(**extra: object) -> Payload:
    return Payload({"done": 1, **extra, "done_at": unix(timezone.now())})


def _order_id(params, *, missing: str = BAD_REQUEST) -> str:
    value = (params.get("order_id") or "").strip()
    if not value or len(value) > MAX_ID:
        raise ApiError(missing)
    return value


def _order(shop: Shop, order_id: str) -> Order:
    order = Order.objects.for_company(shop.company_id).filter(shop=shop, order_id=order_id).first()
    if order is None:
        raise ApiError(ORDER_NOT_FOUND)
    return order


# --- putOrder -----------------------------------------------------------------------------------


def _ordertimestamp(params) -> datetime.datetime | None:
    value = (params.get("ordertimestamp") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC)
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.datetime.strptime(value, pattern)  # noqa: DTZ007 (made aware below)
        except ValueError:
            continue
        return timezone.make_aware(parsed)
    raise ApiError(DATE_ERROR)


def _product_ids(params) -> list[str]:
    ids = [p.strip() for p in (params.get("product_ids") or "").split(",") if p.strip()]
    if any(len(p) > MAX_ID for p in ids):
        raise ApiError(BAD_REQUEST)
    return list(dict.fromkeys(ids))


def put_order(shop: Shop, params) -> Payload:
    """R5/ID-1: one invitation per (shop, order_id); a repeat answers the same link."""
    method = (params.get("product_ids_update_method") or "append").strip().lower()
    if method not in {"append", "replace"}:
        raise ApiError(BAD_REQUEST)
    order = OrderInput(
        order_id=_order_id(params),
        ordered_at=_ordertimestamp(params),
        items=tuple(ItemInput(product_id=p) for p in _product_ids(params)),
    )
    with transaction.atomic():
        (result,) = orders_ingest(shop=shop, orders=[order])
        if method == "replace":
            _drop_other_items(shop, order)
    invitation = result.invitation
    if invitation is None:
        raise ApiError(BAD_REQUEST)
    answer = {"link": tokens.rating_url(invitation.token_nonce), "hash": invitation.public_id.hex}
    if result.outcome == "known":
        answer["known_since"] = unix(invitation.created_at)
    return _done(**answer)


def _drop_other_items(shop: Shop, order: OrderInput) -> None:
    keep = [item.product_id for item in order.items]
    OrderItem.objects.for_company(shop.company_id).filter(
        shop=shop, order__order_id=order.order_id
    ).exclude(product__product_id__in=keep).delete()


# --- putProduct ---------------------------------------------------------------------------------


def _product_other(raw: str) -> dict:
    """``product_other`` is a JSON object (v3 SDK) or a PHP-serialized array (v2 clients)."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        try:
            value = php.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(BAD_REQUEST) from exc
    if not isinstance(value, dict):
        raise ApiError(BAD_REQUEST)
    return value


def _canonical_link(other: dict) -> str:
    links = other.get("links") or []
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == "canonical":
            return str(link.get("href") or "")
    return ""


def _catalogue_fields(params, other: dict, known: Product | None) -> dict[str, str]:
    ids = other.get("product_ids") if isinstance(other.get("product_ids"), dict) else {}
    gtin = ids.get("ean") or ids.get("upc") or ids.get("isbn") or ids.get("gbase") or ""
    fields = {
        "name": params.get("product_name") or (known.name if known else ""),
        "brand": other.get("brand_name") or "",
        "gtin": gtin,
        "mpn": ids.get("mpn") or "",
        "image_url": other.get("image_url") or "",
        "link": params.get("product_canonical_link") or _canonical_link(other),
    }
    return {key: str(value)[: LIMITS[key]] for key, value in fields.items()}


def put_product(shop: Shop, params) -> Payload:
    product_id = (params.get("product_id") or "").strip()
    if not product_id or len(product_id) > MAX_ID:
        raise ApiError(BAD_REQUEST)
    other = _product_other(params.get("product_other") or "")
    known = (
        Product.objects.for_company(shop.company_id)
        .filter(shop=shop, product_id=product_id)
        .first()
    )
    fields = _catalogue_fields(params, other, known)
    fields["name"] = fields["name"] or product_id
    if known:
        fields["sku"] = known.sku
    product_upsert(shop=shop, product_id=product_id, **fields)
    return _done()


# --- putClient / assignClientOrder --------------------------------------------------------------


def _client_key(shop: Shop, client_id: str) -> str:
    return f"compat:client:{shop.pk}:{client_id}"


def _client_id(params) -> str:
    value = (params.get("client_id") or "").strip()
    if not value or len(value) > MAX_ID:
        raise ApiError(BAD_REQUEST)
    return value


def _client_data(params) -> dict[str, str]:
    email = (params.get("email") or "").strip()
    if email:
        try:
            email = normalize_email(email)
        except ValueError as exc:
            raise ApiError(BAD_REQUEST) from exc
    return {
        "email": email,
        "first_name": (params.get("firstname") or "")[:150],
        "last_name": (params.get("lastname") or "")[:150],
    }


def _assign(shop: Shop, order: Order, client: dict[str, str]) -> None:
    Invitation.objects.for_company(shop.company_id).filter(shop=shop, order=order).update(
        **client, updated_at=timezone.now()
    )


def put_client(shop: Shop, params) -> Payload:
    client_id = _client_id(params)
    client = _client_data(params)
    if params.get("order_id"):
        _assign(shop, _order(shop, _order_id(params)), client)
    cache.set(_client_key(shop, client_id), client, timeout=int(CLIENT_TTL.total_seconds()))
    return _done(client_id=client_id)


def assign_client_order(shop: Shop, params) -> Payload:
    order = _order(shop, _order_id(params, missing=ORDER_NOT_FOUND))
    client_id = _client_id(params)
    if (params.get("unlink") or "false").strip().lower() in {"1", "true"}:
        _assign(shop, order, {"email": "", "first_name": "", "last_name": ""})
        return _done()
    client = cache.get(_client_key(shop, client_id))
    if client is None:
        raise ApiError("Client id not known")
    _assign(shop, order, client)
    return _done()


# --- putComment / putDialog ---------------------------------------------------------------------


def _merchant_review(shop: Shop, order_id: str) -> Review:
    review = (
        Review.objects.for_company(shop.company_id)
        .filter(shop=shop, kind=Review.Kind.MERCHANT, invitation__order__order_id=order_id)
        .exclude(status=Review.Status.DELETED)
        .first()
    )
    if review is None:
        raise ApiError(ORDER_NOT_FOUND)
    return review


def _free_text(params, name: str) -> str:
    """laravel-ekomi tells callers to urlencode() ``comment``/``message`` and then encodes the
    query again, so those arrive still encoded once: a value without whitespace holding an
    escape or a plus is decoded a second time (as eKomi's own urldecode() would)."""
    text = (params.get(name) or "").strip()
    if text and not any(c.isspace() for c in text) and ("+" in text or _ESCAPE.search(text)):
        text = unquote_plus(text).strip()
    return text


def put_comment(shop: Shop, params) -> Payload:
    """R22: the shop's one public reply under the review of this order."""
    update = (params.get("update") or "replace").strip().lower()
    if update not in {"replace", "delete"}:
        raise ApiError("Invalid content for update parameter.")
    review = _merchant_review(shop, _order_id(params, missing=ORDER_NOT_FOUND))
    if update == "delete":
        company_comment_delete(review=review)
        return _done()
    text = _free_text(params, "comment")
    if not text:
        raise ApiError("Empty comment parameter.")
    try:
        company_comment_set(review=review, text=text)
    except CommentError as exc:
        raise ApiError(str(exc)) from exc
    return _done()


def put_dialog(shop: Shop, params) -> Payload:
    """R23: a private message to the evaluator, through the dialogue's own rules."""
    order_id = _order_id(params, missing="OrderID empty.")
    text = _free_text(params, "message")
    if not text:
        raise ApiError("Message parameter is empty")
    review = _merchant_review(shop, order_id)
    try:
        dialogue_company_write(review=review, text=text)
    except DialogueUnavailable as exc:
        raise ApiError("Customer left no mail address.") from exc
    except DialogueEnded as exc:
        raise ApiError("Dialog closed by customer.") from exc
    return _done()
