"""Database constraints: bad rows are refused by Postgres itself, not only by Python checks."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from companies.models import Membership, Product, Shop
from invitations.models import Invitation, InvitationLink, Order, hash_token, link_expiry, new_token
from reviews.models import Review
from seals.models import SealStatus
from tests import factories

pytestmark = pytest.mark.django_db


def refused(model, **values):
    """True when Postgres refuses to insert the row (bypassing Python validation)."""
    try:
        with transaction.atomic():
            model.objects.unscoped().bulk_create([model(**values)])
    except IntegrityError:
        return True
    return False


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
    assert refused(Review, rating=rating, **base)
    assert not refused(Review, rating=5, **base)


def test_it_refuses_a_duplicate_order_of_the_same_shop(shop, other_shop):
    """R5: the same (shop, order_id) never makes a second order."""
    factories.OrderFactory(shop=shop, order_id="A-1")
    assert refused(
        Order, company=shop.company, shop=shop, order_id="A-1", ordered_at=timezone.now()
    )
    # Another shop may use the same order number.
    assert not refused(
        Order,
        company=other_shop.company,
        shop=other_shop,
        order_id="A-1",
        ordered_at=timezone.now(),
    )


def test_it_refuses_an_empty_order_id(shop):
    assert refused(Order, company=shop.company, shop=shop, order_id="", ordered_at=timezone.now())


def test_it_allows_one_invitation_per_order(shop):
    """R5: one order, one invitation."""
    invitation = factories.InvitationFactory(shop=shop)
    assert refused(
        Invitation,
        company=shop.company,
        shop=shop,
        order=invitation.order,
        due_at=timezone.now(),
        expires_at=timezone.now() + datetime.timedelta(days=1),
        created_at=timezone.now(),
    )


def test_it_refuses_a_second_merchant_review_for_one_invitation(shop):
    """R13: one invitation collects one merchant review."""
    review = factories.ReviewFactory(shop=shop)
    assert refused(
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
    assert not refused(Review, product=product, **values)
    assert refused(Review, product=product, **values)
    assert refused(Review, product=None, **values)


def test_it_refuses_an_invitation_review_that_claims_to_be_non_transactional(shop):
    """R14: a review that came through an invitation is transaction-based."""
    invitation = factories.InvitationFactory(shop=shop)
    assert refused(
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
        Invitation,
        company=shop.company,
        shop=shop,
        order=order,
        due_at=now,
        created_at=now,
        expires_at=now,
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
    """R9, AU-1: secrets-based tokens (not UUIDs), only the SHA-256 is stored."""
    tokens = {new_token()[0] for _ in range(1000)}
    assert len(tokens) == 1000
    token, digest = new_token()
    assert len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert not re.fullmatch(r"[0-9a-f-]{36}", token)
    assert digest == hash_token(token) and len(digest) == 64
    link = factories.InvitationLinkFactory(shop=shop, token_hash=digest)
    stored = InvitationLink.objects.unscoped().values().get(pk=link.pk)
    assert token not in {str(v) for v in stored.values()}
    assert refused(
        InvitationLink,
        company=shop.company,
        shop=shop,
        invitation=link.invitation,
        token_hash="plaintext-token",
        purpose="invitation",
    )


def test_it_refuses_a_duplicate_product_id_within_a_shop(shop, other_shop):
    factories.ProductFactory(shop=shop, product_id="SKU-1")
    assert refused(Product, company=shop.company, shop=shop, product_id="SKU-1", name="x")
    assert not refused(
        Product, company=other_shop.company, shop=other_shop, product_id="SKU-1", name="x"
    )


def test_it_refuses_a_malformed_gtin(shop):
    assert refused(Product, company=shop.company, shop=shop, product_id="G", name="x", gtin="12ab")


def test_it_refuses_a_shop_slug_used_by_another_company(shop, other_company):
    assert refused(
        Shop,
        company=other_company,
        slug=shop.slug,
        name="Copy",
        interface_id="999999",
        interface_password_hash="x",
    )


def test_it_refuses_a_second_membership_and_an_unknown_role(owner, company):
    """R2: one membership per user and company, with a known role."""
    assert refused(Membership, company=company, user=owner, role="viewer")
    other_user = factories.UserFactory()
    assert refused(Membership, company=company, user=other_user, role="admin")


def test_it_refuses_a_seal_sum_that_no_star_ratings_can_make(shop):
    """R25: the stored sum lies between 1 and 5 stars per review."""
    today = timezone.localdate()
    base = dict(company=shop.company, shop=shop, status_as_of=today)
    assert refused(SealStatus, review_count=10, rating_sum=51, **base)
    assert refused(SealStatus, review_count=10, rating_sum=9, **base)
    assert not refused(SealStatus, review_count=10, rating_sum=48, **base)
    # one merchant seal per shop
    assert refused(SealStatus, review_count=0, rating_sum=0, **base)
