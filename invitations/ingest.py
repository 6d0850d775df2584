"""Order ingest: orders in, exactly one invitation per order out (R5-R8).

One call takes up to 10,000 orders and runs a fixed number of queries whatever their count:
products, orders, invitations and order items are written with set-based inserts that let the
unique constraints decide what already exists, so concurrent duplicates resolve in Postgres.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from email_validator import EmailNotValidError, validate_email

from companies.models import Product, Shop
from invitations import tokens
from invitations.models import (
    Invitation,
    Order,
    OrderItem,
    Suppression,
    email_digest,
    link_expiry,
)

MAX_ORDERS_PER_CALL = 10_000


@dataclass(frozen=True)
class ItemInput:
    product_id: str
    name: str = ""
    brand: str = ""
    gtin: str = ""
    mpn: str = ""
    sku: str = ""
    image_url: str = ""
    link: str = ""


@dataclass(frozen=True)
class OrderInput:
    order_id: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    locale: str = ""
    ordered_at: datetime.datetime | None = None
    delivered_at: datetime.datetime | None = None
    consent: bool = True
    invite: bool = True
    items: tuple[ItemInput, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class IngestResult:
    order_id: str
    outcome: str  # "created", "known" or "rejected"
    invitation: Invitation | None = None
    reason: str = ""
    code: str = ""


def normalize_email(address: str) -> str:
    """One canonical form before dedupe (IN-4): NFC, domain in IDNA ASCII, local part kept.

    Raises ``ValueError`` with a reason a person understands when the address is not valid.
    """
    try:
        info = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return f"{info.local_part}@{info.ascii_domain}"


def due_at_for(shop: Shop, order: OrderInput, now: datetime.datetime) -> datetime.datetime:
    """Order (or delivery) date plus the shop's delay (R7, 004 §6.6); never in the past."""
    basis = order.ordered_at or now
    if shop.delay_basis == Shop.DelayBasis.DELIVERY and order.delivered_at:
        basis = order.delivered_at
    return max(basis + datetime.timedelta(days=shop.invitation_delay_days), now)


def orders_ingest(*, shop: Shop, orders: list[OrderInput]) -> list[IngestResult]:
    """Store orders and their invitations; answers one result per input order, in order."""
    if len(orders) > MAX_ORDERS_PER_CALL:
        raise ValueError(f"at most {MAX_ORDERS_PER_CALL} orders per call")
    now = timezone.now()
    rejected = _rejections(shop, orders)
    accepted = _first_of_each_order_id([o for o in orders if o.order_id not in rejected])
    with transaction.atomic():
        products = _upsert_products(shop, accepted.values())
        known = _existing_order_ids(shop, accepted)
        fresh = [o for key, o in accepted.items() if key not in known]
        _insert_orders(shop, fresh, now)
        order_rows = _orders_by_id(shop, accepted)
        _insert_invitations(shop, fresh, order_rows, now)
        _insert_items(shop, accepted.values(), order_rows, products)
        _mark_live(shop, now, fresh)
        invitations = _invitations_by_order(shop, order_rows)
    return _results(orders, rejected, known, order_rows, invitations)


def _rejections(shop: Shop, orders: list[OrderInput]) -> dict[str, tuple[str, str]]:
    rejected = {}
    for order in orders:
        if not order.invite and not shop.has_selection_group:
            # 004 §6.5, R8: every order is invited unless staff approved a selection group.
            rejected[order.order_id] = (
                "not_invitable",
                "Orders cannot opt out of the invitation: every order is invited unless the "
                "shop has a defined selection group approved by platform staff.",
            )
    return rejected


def _first_of_each_order_id(orders: list[OrderInput]) -> dict[str, OrderInput]:
    accepted: dict[str, OrderInput] = {}
    for order in orders:
        accepted.setdefault(order.order_id, order)
    return accepted


def _upsert_products(shop: Shop, orders) -> dict[str, int]:
    """Catalogue entries for every item: new ones created, named ones refreshed (1-2 queries)."""
    items: dict[str, ItemInput] = {}
    for order in orders:
        for item in order.items:
            items[item.product_id] = item
    if not items:
        return {}
    rows = [
        Product(
            company_id=shop.company_id,
            shop=shop,
            product_id=item.product_id,
            name=item.name or item.product_id,
            brand=item.brand,
            gtin=item.gtin,
            mpn=item.mpn,
            sku=item.sku,
            image_url=item.image_url,
            link=item.link,
        )
        # Sorted, so concurrent batches of one shop lock catalogue rows in the same order and
        # never deadlock each other (LO-1 found it).
        for _product_id, item in sorted(items.items())
    ]
    named = [row for row in rows if items[row.product_id].name]
    unnamed = [row for row in rows if not items[row.product_id].name]
    manager = Product.objects.for_company(shop.company_id)
    if named:
        manager.bulk_create(
            named,
            update_conflicts=True,
            unique_fields=["shop", "product_id"],
            update_fields=[
                "name",
                "brand",
                "gtin",
                "mpn",
                "sku",
                "image_url",
                "link",
                "updated_at",
            ],
        )
    if unnamed:
        # An item without a name only references the catalogue; never blank a known name.
        manager.bulk_create(unnamed, ignore_conflicts=True)
    return dict(
        manager.filter(shop=shop, product_id__in=list(items)).values_list("product_id", "id")
    )


def _existing_order_ids(shop: Shop, accepted: dict[str, OrderInput]) -> set[str]:
    return set(
        Order.objects.for_company(shop.company_id)
        .filter(shop=shop, order_id__in=list(accepted))
        .values_list("order_id", flat=True)
    )


def _insert_orders(shop: Shop, fresh: list[OrderInput], now: datetime.datetime) -> None:
    Order.objects.for_company(shop.company_id).bulk_create(
        [
            Order(
                company_id=shop.company_id,
                shop=shop,
                order_id=o.order_id,
                ordered_at=o.ordered_at or now,
                delivered_at=o.delivered_at,
                locale=o.locale or shop.default_locale,
                consent=o.consent,
            )
            for o in fresh
        ],
        ignore_conflicts=True,  # a concurrent request with the same order id wins; still one row
    )


def _orders_by_id(shop: Shop, accepted: dict[str, OrderInput]) -> dict[str, Order]:
    return {
        order.order_id: order
        for order in Order.objects.for_company(shop.company_id).filter(
            shop=shop, order_id__in=list(accepted)
        )
    }


def _suppressed_digests(shop: Shop, fresh: list[OrderInput]) -> dict[str, str]:
    digests = {email_digest(o.email) for o in fresh if o.email}
    if not digests:
        return {}
    return dict(
        Suppression.objects.for_company(shop.company_id)
        .filter(shop=shop, email_digest__in=digests)
        .values_list("email_digest", "reason")
    )


def _suppression_reason(order: OrderInput, suppressed: dict[str, str]) -> str:
    if not order.invite:
        return Invitation.SuppressionReason.SELECTION_GROUP
    if not order.consent:
        return Invitation.SuppressionReason.NO_CONSENT
    if not order.email:
        return Invitation.SuppressionReason.NO_EMAIL
    return suppressed.get(email_digest(order.email), "")


def _insert_invitations(shop, fresh, order_rows, now) -> None:
    suppressed = _suppressed_digests(shop, fresh)
    rows = []
    for order in fresh:
        reason = _suppression_reason(order, suppressed)
        nonce, token_hash = tokens.mint()
        rows.append(
            Invitation(
                company_id=shop.company_id,
                shop=shop,
                order=order_rows[order.order_id],
                email=order.email,
                first_name=order.first_name,
                last_name=order.last_name,
                token_nonce=nonce,
                token_hash=token_hash,
                status=Invitation.Status.SUPPRESSED if reason else Invitation.Status.SCHEDULED,
                suppression_reason=reason,
                due_at=due_at_for(shop, order, now),
                created_at=now,
                expires_at=link_expiry(now),  # bulk_create skips save(), which sets it too
            )
        )
    # ignore_conflicts: the order row may belong to a concurrent request that made its own.
    Invitation.objects.for_company(shop.company_id).bulk_create(rows, ignore_conflicts=True)


def _insert_items(shop, orders, order_rows, products) -> None:
    rows = [
        OrderItem(
            company_id=shop.company_id,
            shop=shop,
            order=order_rows[order.order_id],
            product_id=products[item.product_id],
        )
        for order in orders
        for item in order.items
    ]
    if rows:
        OrderItem.objects.for_company(shop.company_id).bulk_create(rows, ignore_conflicts=True)


def _mark_live(shop: Shop, now: datetime.datetime, fresh: list[OrderInput]) -> None:
    """R32: the first order makes the shop technically live."""
    if fresh and shop.went_live_at is None:
        Shop.objects.for_company(shop.company_id).filter(
            pk=shop.pk, went_live_at__isnull=True
        ).update(went_live_at=now)
        shop.went_live_at = now


def _invitations_by_order(shop, order_rows) -> dict[int, Invitation]:
    order_pks = [o.pk for o in order_rows.values()]
    return {
        inv.order_id: inv
        for inv in Invitation.objects.for_company(shop.company_id).filter(order_id__in=order_pks)
    }


def _results(orders, rejected, known, order_rows, invitations) -> list[IngestResult]:
    results = []
    seen: set[str] = set()
    for order in orders:
        if order.order_id in rejected:
            code, reason = rejected[order.order_id]
            results.append(IngestResult(order.order_id, "rejected", reason=reason, code=code))
            continue
        row = order_rows[order.order_id]
        outcome = "known" if order.order_id in known or order.order_id in seen else "created"
        seen.add(order.order_id)
        results.append(IngestResult(order.order_id, outcome, invitation=invitations.get(row.pk)))
    return results
