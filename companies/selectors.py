"""Reads for companies: authentication lookups and the tenant access helpers."""

from __future__ import annotations

import hmac

from django.db.models import QuerySet

from companies.models import ApiKey, Company, Membership, Product, Shop, User
from companies.services import API_KEY_PREFIX, hash_secret
from companies.tenancy import access_object


def api_key_lookup(raw: str) -> ApiKey | None:
    """The active key for a presented secret, found by the unique index on its hash."""
    if not raw.startswith(API_KEY_PREFIX) or len(raw) > 200:
        return None
    # Cross-tenant by nature: the key itself tells us the tenant.
    return (
        ApiKey.objects.unscoped()
        .select_related("shop", "company")
        .filter(key_hash=hash_secret(raw), revoked_at__isnull=True)
        .first()
    )


def api_key_revoked_company(raw: str) -> int | None:
    """The company of a revoked key with this secret (for the security log), else None."""
    if not raw.startswith(API_KEY_PREFIX) or len(raw) > 200:
        return None
    # Cross-tenant by nature, like api_key_lookup: only the company id is read.
    return (
        ApiKey.objects.unscoped()
        .filter(key_hash=hash_secret(raw), revoked_at__isnull=False)
        .values_list("company_id", flat=True)
        .first()
    )


def shop_for_interface(interface_id: str, password: str) -> Shop | None:
    """The shop whose eKomi-style interface credentials match, else None."""
    # Cross-tenant by nature: the interface id tells us the tenant.
    shop = (
        Shop.objects.unscoped().select_related("company").filter(interface_id=interface_id).first()
    )
    if shop is None or not hmac.compare_digest(shop.interface_password_hash, hash_secret(password)):
        return None
    return shop


def shop_by_slug(slug: str) -> Shop | None:
    """A shop by its public slug, for public pages (certificate, widget, seal)."""
    # Cross-tenant by nature: the slug in a public URL names the tenant.
    return Shop.objects.unscoped().select_related("company").filter(slug=slug).first()


def companies_for_user(user: User) -> QuerySet[Company]:
    company_ids = Membership.objects.unscoped().filter(user=user).values("company_id")
    return Company.objects.filter(pk__in=company_ids)


def membership_for(*, user: User, company: Company | int) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.for_company(company).filter(user=user).first()


def access_shop(*, company: Company | int, shop_id: int) -> Shop:
    return access_object(Shop, company=company, pk=shop_id)


def access_membership(*, company: Company | int, membership_id: int) -> Membership:
    return access_object(Membership, company=company, pk=membership_id)


def access_api_key(*, company: Company | int, api_key_id: int) -> ApiKey:
    return access_object(ApiKey, company=company, pk=api_key_id)


def access_product(*, shop: Shop, product_id: str) -> Product:
    return access_object(Product, company=shop.company_id, shop=shop, product_id=product_id)
