"""Writes for companies, shops, memberships, API keys and interface credentials."""

from __future__ import annotations

import hashlib
import logging
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from companies.models import ApiKey, Company, Membership, Product, Role, Shop, User
from companies.tenancy import cross_tenant

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "ek_"
_ALPHANUMERIC = string.ascii_letters + string.digits
# Writing last_used_at on every request would turn each API read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    """SHA-256 of a generated high-entropy secret (API key, interface password).

    These secrets carry 190+ random bits, so a slow password hash adds nothing but latency to
    every API call; user passwords use Django's hashers instead.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewCompany:
    company: Company
    shop: Shop
    owner: User
    owner_password: str
    api_key: str
    interface_password: str


def company_create(
    *,
    name: str,
    shop_name: str,
    owner_email: str,
    owner_password: str | None = None,
    shop_slug: str | None = None,
    country: str = "DE",
    owner_first_name: str = "",
    owner_last_name: str = "",
) -> NewCompany:
    """A company with its first shop, an owner login, an API key and interface credentials."""
    owner_password = owner_password or secrets.token_urlsafe(12)
    with transaction.atomic():
        company = Company.objects.create(name=name, country=country)
        owner = User.objects.create_user(
            email=owner_email,
            password=owner_password,
            first_name=owner_first_name,
            last_name=owner_last_name,
            email_confirmed_at=timezone.now(),
        )
        membership_create(company=company, user=owner, role=Role.OWNER)
        shop, interface_password = shop_create(company=company, name=shop_name, slug=shop_slug)
        _key, api_key = api_key_create(shop=shop, name="default", created_by=owner)
    return NewCompany(company, shop, owner, owner_password, api_key, interface_password)


def membership_create(*, company: Company, user: User, role: str) -> Membership:
    return Membership.objects.for_company(company).create(company=company, user=user, role=role)


def _unique_slug(base: str) -> str:
    root = slugify(base)[:60] or "shop"
    candidate = root
    while Shop.objects.unscoped().filter(slug=candidate).exists():  # slugs are global (URLs)
        candidate = f"{root}-{secrets.token_hex(2)}"
    return candidate


def _new_interface_id() -> str:
    while True:
        candidate = str(100000 + secrets.randbelow(900000))
        # Interface ids are global: the eKomi interface looks a shop up by id alone.
        if not Shop.objects.unscoped().filter(interface_id=candidate).exists():
            return candidate


def new_interface_password() -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))


def shop_create(
    *, company: Company, name: str, slug: str | None = None, **settings
) -> tuple[Shop, str]:
    """A shop and its interface password (returned once, stored hashed)."""
    password = new_interface_password()
    shop = Shop(
        company=company,
        name=name,
        slug=slug or _unique_slug(name),
        interface_id=_new_interface_id(),
        interface_password_hash=hash_secret(password),
        **settings,
    )
    # Slug and interface id are unique across all companies, so validation must see them all.
    with cross_tenant():
        shop.full_clean(exclude=["logo", "interface_password_hash"])
    shop.save()
    return shop, password


def interface_password_rotate(*, shop: Shop) -> str:
    password = new_interface_password()
    Shop.objects.for_company(shop.company_id).filter(pk=shop.pk).update(
        interface_password_hash=hash_secret(password), updated_at=timezone.now()
    )
    return password


def api_key_create(*, shop: Shop, name: str, created_by: User | None = None) -> tuple[ApiKey, str]:
    """A new API key for ``shop``. The plaintext is returned here and never again (R3)."""
    for _attempt in range(5):
        prefix = secrets.token_hex(4)
        raw = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.for_company(shop.company_id).create(
                    company_id=shop.company_id,
                    shop=shop,
                    name=name,
                    prefix=prefix,
                    key_hash=hash_secret(raw),
                    created_by=created_by,
                )
            return key, raw
        except IntegrityError:  # a prefix collision (1 in 4 billion): draw again
            continue
    raise RuntimeError("could not draw a unique API key prefix")


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.for_company(api_key.company_id).filter(
        pk=api_key.pk, revoked_at__isnull=True
    ).update(revoked_at=timezone.now(), updated_at=timezone.now())


def api_key_touch(*, api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at and now - api_key.last_used_at < _LAST_USED_RESOLUTION:
        return
    ApiKey.objects.for_company(api_key.company_id).filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


PRODUCT_FIELDS = ("name", "brand", "gtin", "mpn", "sku", "image_url", "link")


def product_upsert(*, shop: Shop, product_id: str, **fields) -> tuple[Product, bool]:
    """Create or replace a catalogue entry identified by the shop's ``product_id``."""
    values = {name: fields.get(name, "") for name in PRODUCT_FIELDS}
    product, created = Product.objects.for_company(shop.company_id).update_or_create(
        shop=shop,
        product_id=product_id,
        defaults=values,
        create_defaults={"company_id": shop.company_id, **values},
    )
    return product, created
