"""Order ingest: orders in, exactly one invitation per order out (R5-R8).

One call takes up to 10,000 orders and runs a fixed number of queries whatever their count:
products, orders, invitations and order items are written with set-based inserts that let the
unique constraints decide what already exists, so concurrent duplicates resolve in Postgres.
Orders, invitations and items go in as ``INSERT … SELECT FROM unnest(…)`` with plain column
arrays, and what the caller needs back comes from ``RETURNING`` and ``values_list``: building
and reading 10,000 model instances cost more than the database's work on the rows.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import uuid
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import (
    CASE_INSENSITIVE_MAILBOX_NAMES,
    DOT_ATOM_TEXT,
    EMAIL_MAX_LENGTH,
)

from companies.models import Product, Shop
from invitations import tokens
from invitations.models import (
    Invitation,
    Order,
    Suppression,
    email_digest,
    link_expiry,
)

MAX_ORDERS_PER_CALL = 10_000


@dataclasses.dataclass(frozen=True)
class ItemInput:
    product_id: str
    name: str = ""
    brand: str = ""
    gtin: str = ""
    mpn: str = ""
    sku: str = ""
    image_url: str = ""
    link: str = ""


@dataclasses.dataclass(frozen=True)
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
    items: tuple[ItemInput, ...] = dataclasses.field(default_factory=tuple)


class InvitationState(NamedTuple):
    """An order's invitation as ingest reports it: status and times, plus what the eKomi
    interface answers with (its link's nonce, its creation time). Read as plain values."""

    public_id: uuid.UUID
    status: str
    suppression_reason: str
    due_at: datetime.datetime
    sent_at: datetime.datetime | None
    reminders_sent: int
    used_at: datetime.datetime | None
    expires_at: datetime.datetime
    token_nonce: str
    created_at: datetime.datetime


# The columns of InvitationState, in its field order (values_list and RETURNING read them).
INVITATION_STATE_COLUMNS = InvitationState._fields


@dataclasses.dataclass(frozen=True)
class IngestResult:
    order_id: str
    outcome: str  # "created", "known" or "rejected"
    invitation: InvitationState | None = None
    reason: str = ""
    code: str = ""


def normalize_email(address: str) -> str:
    """One canonical form before dedupe (IN-4): NFC, domain in IDNA ASCII, local part kept.

    Raises ``ValueError`` with a reason a person understands when the address is not valid.
    A plain ASCII local part needs no normalization, so such addresses only have their domain
    checked, once per domain; everything else goes through email-validator whole.
    """
    address = address.strip()
    local, at, domain = address.partition("@")
    if at and DOT_ATOM_TEXT.match(local) and local.lower() not in CASE_INSENSITIVE_MAILBOX_NAMES:
        names = _domain_names(domain)
        if names is not None and _fits(local, domain, *names):
            return f"{local}@{names[1]}"
    try:
        info = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return f"{info.local_part}@{info.ascii_domain}"


@functools.lru_cache(maxsize=4096)
def _domain_names(domain: str) -> tuple[str, str] | None:
    """email-validator's (Unicode, IDNA ASCII) forms of a domain, or None if it refuses it.

    Asked with the shortest local part there is, so any length it refuses is refused for
    every real address too (and those then get email-validator's own message).
    """
    try:
        info = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return info.domain, info.ascii_domain


def _fits(local: str, domain: str, unicode_domain: str, ascii_domain: str) -> bool:
    """email-validator's length rule: as given, normalized and in ASCII, at most 254 octets."""
    return all(
        len(f"{local}@{name}".encode()) <= EMAIL_MAX_LENGTH
        for name in (domain, unicode_domain, ascii_domain)
    )


def due_at_for(shop: Shop, order: OrderInput, now: datetime.datetime) -> datetime.datetime:
    """Order (or delivery) date plus the shop's delay (R7, 004 §6.6); never in the past.

    The delay is whole days of 24 hours, as reminders and link expiry count them, added in UTC:
    a date the API read in local time and the same instant with its offset (a CSV) are due at
    the same moment, also across a daylight-saving change."""
    basis = order.ordered_at or now
    if shop.delay_basis == Shop.DelayBasis.DELIVERY and order.delivered_at:
        basis = order.delivered_at
    due = basis.astimezone(datetime.UTC) + datetime.timedelta(days=shop.invitation_delay_days)
    return max(due, now)


def orders_ingest(*, shop: Shop, orders: list[OrderInput]) -> list[IngestResult]:
    """Store orders and their invitations; answers one result per input order, in order."""
    if len(orders) > MAX_ORDERS_PER_CALL:
        raise ValueError(f"at most {MAX_ORDERS_PER_CALL} orders per call")
    now = timezone.now()
    rejected = _rejections(shop, orders)
    accepted = _first_of_each_order_id([o for o in orders if o.order_id not in rejected])
    with transaction.atomic():
        products = _upsert_products(shop, accepted.values())
        created = _insert_orders(shop, accepted, now)
        known = _known_orders(shop, [key for key in accepted if key not in created])
        fresh = {key: accepted[key] for key in created}
        invitations = _insert_invitations(shop, fresh, created, now)
        order_pks = created | {key: pk for key, (pk, _state) in known.items()}
        _insert_items(shop, accepted, order_pks, products, now)
        _mark_live(shop, now, fresh)
    invitations.update({key: state for key, (_pk, state) in known.items()})
    return _results(orders, rejected, known, invitations)


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


# The three bulk inserts below are raw SQL for speed only: every row carries the shop's
# company_id, and the composite foreign keys (companies.db) refuse a row of another tenant.
_INSERT_ORDERS = """
    INSERT INTO invitations_order
        (company_id, shop_id, order_id, ordered_at, delivered_at, locale, consent,
         created_at, updated_at)
    SELECT %(company)s, %(shop)s, o.order_id, o.ordered_at, o.delivered_at, o.locale,
           o.consent, %(now)s, %(now)s
    FROM unnest(%(order_ids)s::varchar[], %(ordered)s::timestamptz[],
                %(delivered)s::timestamptz[], %(locales)s::varchar[], %(consents)s::boolean[])
        AS o (order_id, ordered_at, delivered_at, locale, consent)
    ON CONFLICT (shop_id, order_id) DO NOTHING
    RETURNING order_id, id
"""


def _insert_orders(
    shop: Shop, accepted: dict[str, OrderInput], now: datetime.datetime
) -> dict[str, int]:
    """The orders this call created, by order id. A known order id, also one a concurrent
    request committed a moment ago, is left alone by the unique constraint (R5)."""
    if not accepted:
        return {}
    # Sorted, so concurrent batches of one shop take the unique index's locks in the same
    # order and never deadlock each other (as with products, LO-1).
    orders = [accepted[key] for key in sorted(accepted)]
    params = {
        "company": shop.company_id,
        "shop": shop.pk,
        "now": now,
        "order_ids": [o.order_id for o in orders],
        "ordered": [o.ordered_at or now for o in orders],
        "delivered": [o.delivered_at for o in orders],
        "locales": [o.locale or shop.default_locale for o in orders],
        "consents": [o.consent for o in orders],
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_ORDERS, params)
        return dict(cursor.fetchall())


def _known_orders(
    shop: Shop, order_ids: list[str]
) -> dict[str, tuple[int, InvitationState | None]]:
    """Orders that existed before this call, with their invitation's state (ID-1)."""
    if not order_ids:
        return {}
    rows = (
        Order.objects.for_company(shop.company_id)
        .filter(shop=shop, order_id__in=order_ids)
        .values_list(
            "order_id", "pk", *(f"invitation__{column}" for column in INVITATION_STATE_COLUMNS)
        )
    )
    return {
        order_id: (pk, InvitationState(*state) if state[0] is not None else None)
        for order_id, pk, *state in rows
    }


def _suppressed_digests(shop: Shop, digests: set[str]) -> dict[str, str]:
    if not digests:
        return {}
    return dict(
        Suppression.objects.for_company(shop.company_id)
        .filter(shop=shop, email_digest__in=digests)
        .values_list("email_digest", "reason")
    )


def _suppression_reason(order: OrderInput, digest: str, suppressed: dict[str, str]) -> str:
    if not order.invite:
        return Invitation.SuppressionReason.SELECTION_GROUP
    if not order.consent:
        return Invitation.SuppressionReason.NO_CONSENT
    if not order.email:
        return Invitation.SuppressionReason.NO_EMAIL
    return suppressed.get(digest, "")


_INSERT_INVITATIONS = """
    INSERT INTO invitations_invitation
        (company_id, shop_id, order_id, public_id, token_nonce, token_hash, email, first_name,
         last_name, status, suppression_reason, due_at, reminders_sent, send_attempts,
         last_error, expires_at, created_at, updated_at)
    SELECT %(company)s, %(shop)s, i.order_pk, gen_random_uuid(), i.nonce, i.token_hash,
           i.email, i.first_name, i.last_name, i.status, i.reason, i.due_at, 0, 0, '',
           %(expires)s, %(now)s, %(now)s
    FROM unnest(%(order_pks)s::bigint[], %(nonces)s::varchar[], %(hashes)s::varchar[],
                %(emails)s::varchar[], %(first_names)s::varchar[], %(last_names)s::varchar[],
                %(statuses)s::varchar[], %(reasons)s::varchar[], %(due)s::timestamptz[])
        AS i (order_pk, nonce, token_hash, email, first_name, last_name, status, reason,
              due_at)
    RETURNING order_id, public_id, status, suppression_reason, due_at, sent_at, reminders_sent,
              used_at, expires_at, token_nonce, created_at
"""  # RETURNING: order_id, then INVITATION_STATE_COLUMNS. No ON CONFLICT: these orders are
# this transaction's own new rows, so nothing else can have their invitation.


def _insert_invitations(
    shop: Shop, fresh: dict[str, OrderInput], order_pks: dict[str, int], now: datetime.datetime
) -> dict[str, InvitationState]:
    """One invitation per order this call created (R5), suppressed where R6/R8 say so."""
    if not fresh:
        return {}
    params = {
        "company": shop.company_id,
        "shop": shop.pk,
        "now": now,
        "expires": link_expiry(now),
        **_invitation_columns(shop, fresh, order_pks, now),
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_INVITATIONS, params)
        rows = cursor.fetchall()
    by_pk = {pk: key for key, pk in order_pks.items()}
    return {by_pk[order_pk]: InvitationState(*state) for order_pk, *state in rows}


def _invitation_columns(
    shop: Shop, fresh: dict[str, OrderInput], order_pks: dict[str, int], now: datetime.datetime
) -> dict[str, list]:
    """The invitations' column arrays for ``_INSERT_INVITATIONS``, one entry per order."""
    digests = {key: email_digest(o.email) for key, o in fresh.items() if o.email}
    suppressed = _suppressed_digests(shop, set(digests.values()))
    rows = []
    for key, order in fresh.items():
        reason = _suppression_reason(order, digests.get(key, ""), suppressed)
        status = Invitation.Status.SUPPRESSED if reason else Invitation.Status.SCHEDULED
        nonce, token_hash = tokens.mint()
        rows.append(
            (order_pks[key], nonce, token_hash, order.email, order.first_name, order.last_name)
            + (str(status), str(reason), due_at_for(shop, order, now))
        )
    names = ("order_pks", "nonces", "hashes", "emails", "first_names", "last_names")
    names += ("statuses", "reasons", "due")
    return {name: list(column) for name, column in zip(names, zip(*rows, strict=True), strict=True)}


_INSERT_ITEMS = """
    INSERT INTO invitations_orderitem
        (company_id, shop_id, order_id, product_id, created_at, updated_at)
    SELECT %(company)s, %(shop)s, i.order_pk, i.product_pk, %(now)s, %(now)s
    FROM unnest(%(order_pks)s::bigint[], %(product_pks)s::bigint[]) AS i (order_pk, product_pk)
    ON CONFLICT (order_id, product_id) DO NOTHING
"""


def _insert_items(
    shop: Shop,
    accepted: dict[str, OrderInput],
    order_pks: dict[str, int],
    products: dict[str, int],
    now: datetime.datetime,
) -> None:
    """Every order's items, also new items of a known order; a known item is left alone."""
    pairs = sorted(
        {
            (order_pks[key], products[item.product_id])
            for key, order in accepted.items()
            if key in order_pks  # absent only if deleted since the insert: nothing to attach
            for item in order.items
        }
    )
    if not pairs:
        return
    params = {
        "company": shop.company_id,
        "shop": shop.pk,
        "now": now,
        "order_pks": [order_pk for order_pk, _product_pk in pairs],
        "product_pks": [product_pk for _order_pk, product_pk in pairs],
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_ITEMS, params)


def _mark_live(shop: Shop, now: datetime.datetime, fresh: dict[str, OrderInput]) -> None:
    """R32: the first order makes the shop technically live."""
    if fresh and shop.went_live_at is None:
        Shop.objects.for_company(shop.company_id).filter(
            pk=shop.pk, went_live_at__isnull=True
        ).update(went_live_at=now)
        shop.went_live_at = now


def _results(orders, rejected, known, invitations) -> list[IngestResult]:
    results = []
    seen: set[str] = set()
    for order in orders:
        if order.order_id in rejected:
            code, reason = rejected[order.order_id]
            results.append(IngestResult(order.order_id, "rejected", reason=reason, code=code))
            continue
        outcome = "known" if order.order_id in known or order.order_id in seen else "created"
        seen.add(order.order_id)
        results.append(
            IngestResult(order.order_id, outcome, invitation=invitations.get(order.order_id))
        )
    return results
