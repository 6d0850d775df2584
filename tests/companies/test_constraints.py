"""Database constraints: bad rows are refused by Postgres itself, not only by Python checks."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from companies.models import Membership, Product, Shop
from invitations import tokens
from invitations.models import Invitation, Order, link_expiry
from reviews.models import Review
from seals.models import SealStatus
from tests import factories

pytestmark = pytest.mark.django_db


def refused(constraint: str, model, **values) -> bool:
    """True when Postgres refuses the row by ``constraint`` (Python validation bypassed)."""
    try:
        with transaction.atomic():
            model.objects.unscoped().bulk_create([model(**values)])
    except IntegrityError as exc:
        assert constraint in str(exc), f"refused by another rule: {exc}"
        return True
    return False


def token_fields() -> dict:
    nonce, token_hash = tokens.mint()
    return {"token_nonce": nonce, "token_hash": token_hash}


def accepted(model, **values) -> bool:
    try:
        with transaction.atomic():
            model.objects.unscoped().bulk_create([model(**values)])
    except IntegrityError:
        return False
    return True


@pytest.mark.parametrize("rating", [0, 6, 100])
def test_it_refuses_a_rating_outside_one_to_five(shop, rating):
    """R12: the CHECK constraint refuses ratings other than 1-5."""
    base = dict(
        company=shop.company,
        shop=shop,
        kind="merchant",
        is_transaction_based=False,
        submitted_at=timezone.now(),
    )
    assert refused("review_rating_1_5", Review, rating=rating, **base)
    assert accepted(Review, rating=5, **base)


def test_it_refuses_a_duplicate_order_of_the_same_shop(shop, other_shop):
    """R5: the same (shop, order_id) never makes a second order."""
    factories.OrderFactory(shop=shop, order_id="A-1")
    assert refused(
        "order_unique_per_shop",
        Order,
        company=shop.company,
        shop=shop,
        order_id="A-1",
        ordered_at=timezone.now(),
    )
    # Another shop may use the same order number.
    assert accepted(
        Order,
        company=other_shop.company,
        shop=other_shop,
        order_id="A-1",
        ordered_at=timezone.now(),
    )


def test_it_refuses_an_empty_order_id(shop):
    assert refused(
        "order_id_not_empty",
        Order,
        company=shop.company,
        shop=shop,
        order_id="",
        ordered_at=timezone.now(),
    )


def test_it_allows_one_invitation_per_order(shop):
    """R5: one order, one invitation."""
    invitation = factories.InvitationFactory(shop=shop)
    assert refused(
        "order_id_key",
        Invitation,
        company=shop.company,
        shop=shop,
        order=invitation.order,
        due_at=timezone.now(),
        expires_at=timezone.now() + datetime.timedelta(days=1),
        created_at=timezone.now(),
        **token_fields(),
    )


def test_it_refuses_a_second_merchant_review_for_one_invitation(shop):
    """R13: one invitation collects one merchant review."""
    review = factories.ReviewFactory(shop=shop)
    assert refused(
        "review_one_merchant_per_invitation",
        Review,
        company=shop.company,
        shop=shop,
        invitation=review.invitation,
        kind="merchant",
        rating=3,
        submitted_at=timezone.now(),
    )


def test_it_allows_one_product_review_per_product_and_invitation(shop):
    """R13: one product review per product in the order, and a product review needs a product."""
    review = factories.ReviewFactory(shop=shop)
    product = factories.ProductFactory(shop=shop)
    values = dict(
        company=shop.company,
        shop=shop,
        invitation=review.invitation,
        kind="product",
        rating=4,
        submitted_at=timezone.now(),
    )
    assert accepted(Review, product=product, **values)
    assert refused("review_one_per_product_per_invitation", Review, product=product, **values)
    assert refused("review_product_matches_kind", Review, product=None, **values)


def test_it_refuses_an_invitation_review_that_claims_to_be_non_transactional(shop):
    """R14: a review that came through an invitation is transaction-based."""
    invitation = factories.InvitationFactory(shop=shop)
    assert refused(
        "review_invitation_is_transaction",
        Review,
        company=shop.company,
        shop=shop,
        invitation=invitation,
        kind="merchant",
        is_transaction_based=False,
        rating=5,
        submitted_at=timezone.now(),
    )


def test_it_refuses_an_invitation_that_expires_before_it_was_created(shop):
    order = factories.OrderFactory(shop=shop)
    now = timezone.now()
    assert refused(
        "invitation_expires_after_create",
        Invitation,
        company=shop.company,
        shop=shop,
        order=order,
        due_at=now,
        created_at=now,
        expires_at=now,
        **token_fields(),
    )


@pytest.mark.parametrize(
    ("created", "expires"),
    [
        (
            datetime.datetime(2026, 1, 15, 10, 0, tzinfo=datetime.UTC),
            datetime.datetime(2026, 7, 15, 10, 0, tzinfo=datetime.UTC),
        ),
        (
            datetime.datetime(2026, 8, 31, 23, 30, tzinfo=datetime.UTC),
            datetime.datetime(2027, 2, 28, 23, 30, tzinfo=datetime.UTC),
        ),
    ],
)
def test_it_sets_links_to_expire_six_calendar_months_after_creation(shop, created, expires):
    """R9: valid six months from creation, in calendar months (end of month clamps)."""
    assert link_expiry(created) == expires
    invitation = factories.InvitationFactory(shop=shop, created_at=created)
    assert invitation.expires_at == expires


def test_it_makes_tokens_from_256_random_bits_and_stores_only_their_hash(shop):
    """R9, AU-1: tokens rest on 256 bits from ``secrets`` (not UUIDs); only the hash is stored."""
    nonces = {tokens.mint()[0] for _ in range(1000)}
    assert len(nonces) == 1000
    assert all(len(bytes.fromhex(nonce)) == 32 for nonce in nonces)
    invitation = factories.InvitationFactory(shop=shop)
    token = tokens.token_for(invitation.token_nonce)
    assert len(token) == 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert not re.fullmatch(r"[0-9a-f-]{36}", token)
    assert invitation.token_hash == tokens.hash_token(token)
    stored = Invitation.objects.unscoped().values().get(pk=invitation.pk)
    assert token not in {str(value) for value in stored.values()}
    # The same nonce always gives the same link (reminders, eKomi putOrder answers).
    assert tokens.token_for(invitation.token_nonce) == token


def test_it_refuses_a_token_hash_that_is_not_a_sha256(shop):
    order = factories.OrderFactory(shop=shop)
    now = timezone.now()
    assert refused(
        "invitation_token_sha256",
        Invitation,
        company=shop.company,
        shop=shop,
        order=order,
        due_at=now,
        created_at=now,
        expires_at=now + datetime.timedelta(days=1),
        token_nonce="ab",
        token_hash="plaintext-token",
    )


def test_it_requires_a_reason_for_every_suppressed_invitation(shop):
    """R6: an invitation that is not sent says why."""
    now = timezone.now()
    values = dict(
        company=shop.company,
        shop=shop,
        due_at=now,
        created_at=now,
        expires_at=now + datetime.timedelta(days=1),
        token_nonce="ab",
    )
    assert refused(
        "invitation_suppression_has_reason",
        Invitation,
        order=factories.OrderFactory(shop=shop),
        status="suppressed",
        token_hash=tokens.mint()[1],
        **values,
    )
    assert refused(
        "invitation_suppression_has_reason",
        Invitation,
        order=factories.OrderFactory(shop=shop),
        status="scheduled",
        suppression_reason="no_consent",
        token_hash=tokens.mint()[1],
        **values,
    )
    assert accepted(
        Invitation,
        order=factories.OrderFactory(shop=shop),
        status="suppressed",
        suppression_reason="no_consent",
        token_hash=tokens.mint()[1],
        **values,
    )


def test_it_refuses_a_duplicate_product_id_within_a_shop(shop, other_shop):
    factories.ProductFactory(shop=shop, product_id="SKU-1")
    assert refused(
        "product_unique_per_shop",
        Product,
        company=shop.company,
        shop=shop,
        product_id="SKU-1",
        name="x",
    )
    assert accepted(
        Product, company=other_shop.company, shop=other_shop, product_id="SKU-1", name="x"
    )


def test_it_refuses_a_malformed_gtin(shop):
    assert refused(
        "product_gtin_digits",
        Product,
        company=shop.company,
        shop=shop,
        product_id="G",
        name="x",
        gtin="12ab",
    )


def test_it_refuses_a_shop_slug_used_by_another_company(shop, other_company):
    assert refused(
        "shop_slug_key",
        Shop,
        company=other_company,
        slug=shop.slug,
        name="Copy",
        interface_id="999999",
        interface_password_hash="x",
    )


def test_it_refuses_a_second_membership_and_an_unknown_role(owner, company):
    """R2: one membership per user and company, with a known role."""
    assert refused("membership_unique_user", Membership, company=company, user=owner, role="viewer")
    other_user = factories.UserFactory()
    assert refused(
        "membership_role_valid", Membership, company=company, user=other_user, role="admin"
    )


def test_it_refuses_a_seal_sum_that_no_star_ratings_can_make(shop):
    """R25: the stored sum lies between 1 and 5 stars per review."""
    today = timezone.localdate()
    base = dict(company=shop.company, shop=shop, status_as_of=today)
    assert refused(
        "sealstatus_sum_within_stars", SealStatus, review_count=10, rating_sum=51, **base
    )
    assert refused("sealstatus_sum_within_stars", SealStatus, review_count=10, rating_sum=9, **base)
    assert accepted(SealStatus, review_count=10, rating_sum=48, **base)
    # one merchant seal per shop
    assert refused("sealstatus_one_per_shop", SealStatus, review_count=0, rating_sum=0, **base)
