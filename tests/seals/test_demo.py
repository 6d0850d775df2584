"""The demo tenant of ``make run`` (``seals.demo``): idempotent, one tenant, the promised seals."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import F, Sum
from django.utils import timezone

from companies.models import Company, Product, Shop, User
from companies.tenancy import TenantModel
from invitations import tokens
from invitations.models import Invitation, InvitationEmail, Order, OrderItem
from reviews.models import Review
from seals import scoring
from seals.demo import DEMO_OWNER_EMAIL, demo_seed, gtin13
from seals.models import SealStatus
from seals.services import window_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def demo(now, other_shop):
    """The demo seeded next to an outsider company that it must leave alone."""
    return demo_seed(now=now)


def _shop(slug: str) -> Shop:
    return Shop.objects.unscoped().get(slug=slug)


def _row_counts() -> dict[str, int]:
    counted = [m for m in apps.get_models() if issubclass(m, TenantModel)]
    # Deliberately cross-tenant: the test counts every company's rows.
    counts = {m._meta.label: m.objects.unscoped().count() for m in counted}
    return {**counts, "companies": Company.objects.count(), "users": User.objects.count()}


def _merchant_reviews(shop: Shop):
    return Review.objects.for_company(shop.company_id).filter(
        shop=shop,
        kind=Review.Kind.MERCHANT,
        status=Review.Status.PUBLISHED,
        is_transaction_based=True,
    )


def test_it_adds_nothing_when_run_a_second_time(demo, now):
    """R3: a second run finds the demo by its owner, adds no rows and shows no secret again."""
    counts = _row_counts()
    again = demo_seed(now=now)
    assert _row_counts() == counts
    assert demo.created and not again.created
    assert again.company_id == demo.company_id
    assert all(shop.api_key and shop.interface_password for shop in demo.shops)
    assert not any(shop.api_key or shop.interface_password for shop in again.shops)
    assert User.objects.filter(email=DEMO_OWNER_EMAIL).count() == 1


def test_it_gives_the_outdoor_shop_a_gold_seal(demo):
    """R24, R25: at least 60 reviews in the window whose exact mean is at least 4.8."""
    seal = SealStatus.objects.unscoped().get(shop=_shop("demo-outdoor"), product__isnull=True)
    assert seal.tier == scoring.GOLD
    assert seal.review_count >= 60
    assert 10 * seal.rating_sum >= 48 * seal.review_count
    assert [s.tier for s in demo.shops] == [scoring.GOLD, scoring.STANDARD]


def test_it_leaves_the_books_shop_standard(demo):
    """R25: fewer than 50 reviews in the window is standard, whatever the average."""
    seal = SealStatus.objects.unscoped().get(shop=_shop("demo-books"), product__isnull=True)
    assert seal.tier == scoring.STANDARD
    assert 0 < seal.review_count < scoring.MIN_REVIEWS_FOR_TIER


@pytest.mark.parametrize("slug", ["demo-outdoor", "demo-books"])
def test_it_counts_only_the_last_twelve_months(demo, now, slug):
    """R24: published, older reviews exist but the seal counts only the 12-month window."""
    shop = _shop(slug)
    since = window_start(timezone.localdate(now))
    seal = SealStatus.objects.unscoped().get(shop=shop, product__isnull=True)
    in_window = _merchant_reviews(shop).filter(submitted_at__gte=since)
    assert _merchant_reviews(shop).filter(submitted_at__lt=since).exists()
    assert seal.review_count == in_window.count()
    assert seal.rating_sum == in_window.aggregate(total=Sum("rating"))["total"]


def test_it_loses_gold_if_old_reviews_counted(demo):
    """R24: the older, weaker reviews are why the window matters for the demo's seal."""
    every = _merchant_reviews(_shop("demo-outdoor"))
    total = every.aggregate(total=Sum("rating"))["total"]
    assert scoring.tier_for(count=every.count(), total=total) != scoring.GOLD


def test_it_never_counts_non_transaction_reviews(demo, now):
    """R14: reviews written without an order are published in the window but not counted."""
    shop = _shop("demo-outdoor")
    since = window_start(timezone.localdate(now))
    published = Review.objects.for_company(shop.company_id).filter(
        shop=shop, kind=Review.Kind.MERCHANT, status=Review.Status.PUBLISHED
    )
    untransacted = published.filter(is_transaction_based=False, submitted_at__gte=since)
    seal = SealStatus.objects.unscoped().get(shop=shop, product__isnull=True)
    assert shop.non_transaction_reviews_enabled
    assert untransacted.exists()
    assert not untransacted.filter(invitation__isnull=False).exists()
    in_window = published.filter(submitted_at__gte=since).count()
    assert seal.review_count == in_window - untransacted.count()


def test_it_keeps_every_row_inside_its_shops_company(demo, other_shop):
    """R4: each demo row and everything it points to belong to the same company."""
    for model in (m for m in apps.get_models() if issubclass(m, TenantModel)):
        for field in model._meta.concrete_fields:
            target = field.related_model
            if not field.is_relation or target is Company or not issubclass(target, TenantModel):
                continue
            # Deliberately cross-tenant: looking for any row that points into another company.
            rows = model.objects.unscoped().exclude(**{field.name: None})
            mismatched = rows.exclude(**{f"{field.name}__company": F("company")})
            assert not mismatched.exists(), f"{model._meta.label}.{field.name}"
    demo_shops = Shop.objects.unscoped().filter(slug__in=["demo-outdoor", "demo-books"])
    assert {shop.company_id for shop in demo_shops} == {demo.company_id}
    # The outsider that was there first got nothing.
    assert not Order.objects.for_company(other_shop.company).exists()
    assert not Review.objects.for_company(other_shop.company).exists()


def test_it_invites_each_order_once_in_a_mix_of_statuses(demo, now):
    """R5, R9: one invitation per order; links older than six months are expired."""
    company = demo.company_id
    invitations = Invitation.objects.for_company(company)
    assert invitations.count() == Order.objects.for_company(company).count()
    statuses = set(invitations.values_list("status", flat=True))
    assert {"rated", "sent", "scheduled", "expired", "suppressed"} <= statuses
    assert not invitations.filter(expires_at__lte=now).exclude(status="expired").exists()
    assert not invitations.filter(status="scheduled", due_at__lte=now).exists()
    rated = invitations.filter(status="rated")
    assert not rated.exclude(reviews__kind=Review.Kind.MERCHANT).exists()


def test_it_gives_every_invitation_its_own_working_link(demo):
    """R9/AU-1: each invitation stores a nonce and the hash of the token derived from it."""
    invitations = Invitation.objects.for_company(demo.company_id)
    pairs = list(invitations.values_list("token_nonce", "token_hash"))
    assert len({nonce for nonce, _hash in pairs}) == len(pairs)
    for nonce, token_hash in pairs:
        assert len(nonce) == 64 and int(nonce, 16) >= 0
        assert token_hash == tokens.hash_token(tokens.token_for(nonce))


def test_it_says_why_an_invitation_was_not_sent(demo):
    """R6: orders without consent are suppressed for that reason, and nothing else has one."""
    invitations = Invitation.objects.for_company(demo.company_id)
    suppressed = invitations.filter(status="suppressed")
    assert suppressed.exists()
    assert set(suppressed.values_list("suppression_reason", flat=True)) == {"no_consent"}
    assert not suppressed.filter(order__consent=True).exists()
    assert not invitations.exclude(status="suppressed").exclude(suppression_reason="").exists()
    assert not suppressed.filter(emails__isnull=False).exists()


def test_it_records_every_email_that_went_out(demo, now):
    """The send history: one invitation email per sent invitation, one per reminder."""
    invitations = Invitation.objects.for_company(demo.company_id)
    emails = InvitationEmail.objects.for_company(demo.company_id)
    sent = invitations.filter(sent_at__isnull=False)
    assert sent.filter(status="rated").exists() and sent.filter(status="sent").exists()
    first = emails.filter(kind="invitation")
    assert first.count() == sent.count()
    assert not first.exclude(sent_at=F("invitation__sent_at")).exists()
    reminded = invitations.filter(reminders_sent=1)
    assert reminded.exists()
    assert emails.filter(kind="reminder_1").count() == reminded.count()
    assert set(emails.values_list("kind", flat=True)) == {"invitation", "reminder_1"}
    assert not emails.exclude(status="sent").exists()
    assert not emails.exclude(attempts=1).exists()
    assert not emails.filter(sent_at__gt=now).exists()
    assert not invitations.filter(sent_at__isnull=True, emails__isnull=False).exists()
    for email in emails.select_related("invitation"):
        expected = f"<invitation-{email.invitation.public_id}-{email.kind}@demo.local>"
        assert email.message_id == expected
    assert len(set(emails.values_list("message_id", flat=True))) == emails.count()


def test_it_reviews_only_products_of_the_order(demo):
    """R13: product reviews come with an invitation and are about products in its order."""
    reviews = Review.objects.for_company(demo.company_id).filter(kind=Review.Kind.PRODUCT)
    assert reviews.count() >= 10
    for review in reviews.select_related("invitation"):
        bought = OrderItem.objects.for_company(demo.company_id).filter(
            order_id=review.invitation.order_id, product_id=review.product_id
        )
        assert bought.exists(), review.pk


def test_it_gives_products_valid_gtins(demo):
    """Product feeds need real GTINs: 13 digits whose check digit is right."""
    products = Product.objects.for_company(demo.company_id)
    assert products.count() == 16
    for gtin in products.values_list("gtin", flat=True):
        assert len(gtin) == 13 and gtin.isdigit()
        assert gtin13(gtin[:12]) == gtin


def test_it_prints_the_demo_as_json_for_scripts(db, other_shop, settings):
    """The command's --json tells scripts where the certificate pages and the login are."""
    settings.SITE_URL = "http://demo.test"
    first, second = StringIO(), StringIO()
    call_command("seed_demo", "--json", stdout=first)
    call_command("seed_demo", "--json", stdout=second)
    info, again = json.loads(first.getvalue()), json.loads(second.getvalue())
    assert info["slugs"] == ["demo-outdoor", "demo-books"]
    assert [shop["certificate_url"] for shop in info["shops"]] == [
        "http://demo.test/c/demo-outdoor/",
        "http://demo.test/c/demo-books/",
    ]
    assert (info["owner_email"], info["owner_password"]) == (DEMO_OWNER_EMAIL, "demo-password-2026")
    assert info["shops"][0]["api_key"].startswith("ek_")
    assert info["created"] and not again["created"]
    assert again["shops"][0]["api_key"] is None
