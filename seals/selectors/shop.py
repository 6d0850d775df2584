"""The shop behind a public URL and its seal statuses (R24-R26, R30, R31)."""

from __future__ import annotations

from dataclasses import dataclass

from companies.models import Company, Product, SealState, Shop
from seals.models import SealStatus
from seals.selectors.statements import (
    COMPANY,
    PRODUCT,
    SHOP,
    STATUS,
    columns,
    fetch,
    instance,
    select,
)

_SHOP_COLUMNS = tuple(columns("s", Shop) + columns("c", Company) + columns("st", SealStatus))
_SHOP_WIDTH = len(Shop._meta.concrete_fields)
_COMPANY_END = _SHOP_WIDTH + len(Company._meta.concrete_fields)
# Cross-tenant by nature: the slug in a public URL names the tenant; the seal is the shop's own.
_PUBLIC_SHOP_SQL = (
    f"SELECT {select(_SHOP_COLUMNS)} FROM {SHOP} s "  # noqa: S608 (names from model metadata)  # nosec B608
    f"JOIN {COMPANY} c ON c.id = s.company_id "
    f"LEFT JOIN {STATUS} st ON st.company_id = s.company_id AND st.shop_id = s.id "
    "AND st.product_id IS NULL WHERE s.slug = %s"
)


def public_shop(slug: str) -> tuple[Shop, SealStatus | None] | None:
    """The shop of a public URL with its company and its merchant seal status, in one query.

    Every public request reads it, cached or not: the enforcement flags on the shop and its
    company must take effect at once (R30, R31).
    """
    rows = fetch(_PUBLIC_SHOP_SQL, [slug], _SHOP_COLUMNS)
    if not rows:
        return None
    row = rows[0]
    shop = instance(Shop, row[:_SHOP_WIDTH])
    shop.company = instance(Company, row[_SHOP_WIDTH:_COMPANY_END])
    return shop, instance(SealStatus, row[_COMPANY_END:])


@dataclass(frozen=True)
class ShopSeals:
    merchant: SealStatus | None
    products: tuple[SealStatus, ...]  # products with reviews in the window, by name

    def for_product(self, product_id: str) -> SealStatus | None:
        return next((s for s in self.products if s.product.product_id == product_id), None)


def seal_status_for(*, shop: Shop) -> SealStatus | None:
    return (
        SealStatus.objects.for_company(shop.company_id)
        .filter(shop=shop, product__isnull=True)
        .first()
    )


_PRODUCT_SEAL_COLUMNS = tuple(columns("st", SealStatus) + columns("p", Product))
_STATUS_WIDTH = len(SealStatus._meta.concrete_fields)
_PRODUCT_SEALS_SQL = (
    f"SELECT {select(_PRODUCT_SEAL_COLUMNS)} FROM {STATUS} st "  # noqa: S608 (names from model metadata)  # nosec B608
    f"JOIN {PRODUCT} p ON p.id = st.product_id AND p.company_id = st.company_id "
    "WHERE st.company_id = %s AND st.shop_id = %s AND st.review_count > 0 ORDER BY p.name, st.id"
)


def product_seals(*, shop: Shop) -> tuple[SealStatus, ...]:
    """The averages of the shop's products with reviews in the window, by name, in one query."""
    rows = fetch(_PRODUCT_SEALS_SQL, [shop.company_id, shop.pk], _PRODUCT_SEAL_COLUMNS)
    statuses = []
    for row in rows:
        status = instance(SealStatus, row[:_STATUS_WIDTH])
        status.product = instance(Product, row[_STATUS_WIDTH:])
        statuses.append(status)
    return tuple(statuses)


def shows_tier(shop: Shop) -> bool:
    """A withdrawn or suspended seal shows no tier anywhere (R30)."""
    return shop.seal_state == SealState.ACTIVE
