"""General tips on the dashboard (R48, 001 §2.10): each trigger shows its tip, marked "General
advice", and not otherwise; each user can dismiss a tip for a shop (TI-1 for the dismissal)."""

from __future__ import annotations

import datetime

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from companies.models import Role
from guidance.models import Tip, TipDismissal
from guidance.selectors import TipFacts, response_rate_dropped, seal_at_risk, tips_triggered
from invitations.models import Invitation
from reviews.models import Review
from seals import scoring
from seals.models import SealStatus
from tests import factories

pytestmark = pytest.mark.django_db

DASHBOARD = "/backend/"
NEGATIVE = "Answering a critical review"
RATE = "Fewer customers are rating"
SEAL = "Your seal tier may fall"


def _dismiss_url(shop, tip: str) -> str:
    return f"/backend/tips/{shop.pk}/{tip}/dismiss/"


def _page(client, user) -> str:
    client.force_login(user)
    return client.get(DASHBOARD).content.decode()


def _review(shop, *, rating, at=None, **extra):
    at = at or timezone.now() - datetime.timedelta(days=3)
    return factories.ReviewFactory(
        shop=shop, invitation=None, rating=rating, submitted_at=at, published_at=at, **extra
    )


def _seal(shop, *, count, total, tier):
    return SealStatus.objects.unscoped().create(
        company=shop.company,
        shop=shop,
        review_count=count,
        rating_sum=total,
        tier=tier,
        status_as_of=timezone.localdate(),
    )


# --- Trigger rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "last", "expected"),
    [
        ((8, 20), (6, 20), True),  # 40 % -> 30 %: exactly 10 points
        ((8, 20), (7, 20), False),  # 40 % -> 35 %
        ((5, 10), (3, 30), True),  # 50 % -> 10 %
        ((5, 10), (5, 10), False),
        ((9, 9), (0, 9), False),  # fewer than 10 sent: no trend
    ],
)
def test_it_defines_a_response_rate_drop_as_ten_points_in_30_days(previous, last, expected):
    """R48: rated/sent of the last 30 days against the 30 days before, drop of >= 10 points."""
    facts = TipFacts(
        rated_previous=previous[0],
        sent_previous=previous[1],
        rated_last=last[0],
        sent_last=last[1],
    )
    assert response_rate_dropped(facts) is expected


@pytest.mark.parametrize(
    ("tier", "count", "total", "leaving", "expected"),
    [
        (scoring.SILVER, 100, 449, (0, 0), True),  # 4.49: within 0.1 above 4.4
        (scoring.SILVER, 100, 450, (0, 0), False),  # 4.50: not within 0.1
        (scoring.GOLD, 60, 295, (11, 55), True),  # 49 left after next month: standard
        (scoring.GOLD, 100, 495, (20, 100), False),  # 80 reviews, 4.93 stay gold
        (scoring.BRONZE, 100, 460, (40, 200), False),  # 60 reviews at 4.33 stay bronze
        (scoring.STANDARD, 100, 380, (0, 0), False),  # nothing to lose
    ],
)
def test_it_warns_before_the_seal_tier_would_fall(tier, count, total, leaving, expected):
    """R48/R24: near the threshold, or the reviews leaving the window push the tier down."""
    facts = TipFacts(
        seal_tier=tier,
        seal_count=count,
        seal_sum=total,
        leaving_count=leaving[0],
        leaving_sum=leaving[1],
    )
    assert seal_at_risk(facts) is expected


def test_it_triggers_nothing_for_a_quiet_shop():
    assert tips_triggered(TipFacts()) == []


# --- On the dashboard ---------------------------------------------------------------------------


def test_it_shows_the_negative_review_tip_after_a_first_negative_review(client, owner, shop):
    """R48: a published review with 1 or 2 stars shows the tip, marked as general advice."""
    _review(shop, rating=3)
    _review(shop, rating=1, status=Review.Status.UNPUBLISHED)
    assert NEGATIVE not in _page(client, owner)

    _review(shop, rating=2)

    page = _page(client, owner)
    assert NEGATIVE in page and "General advice" in page
    assert "is not individual advice" in page  # 001 §2.10


def test_it_shows_no_negative_review_tip_for_another_shops_review(client, owner, shop, other_shop):
    _review(other_shop, rating=1)
    _review(factories.ShopFactory(company=shop.company, name="ZZ Shop"), rating=1)
    assert NEGATIVE not in _page(client, owner)


def _sent(shop, *, count, rated, days_ago):
    now = timezone.now()
    for index in range(count):
        factories.InvitationFactory(
            shop=shop,
            status=Invitation.Status.RATED if index < rated else Invitation.Status.SENT,
            sent_at=now - datetime.timedelta(days=days_ago),
            used_at=now if index < rated else None,
        )


def test_it_shows_the_response_rate_tip_when_the_rate_drops(client, owner, shop):
    """R48: 80 % of 10 in the 30 days before, 20 % of 10 in the last 30 days."""
    _sent(shop, count=10, rated=8, days_ago=45)
    _sent(shop, count=10, rated=2, days_ago=10)

    page = _page(client, owner)

    assert RATE in page
    assert "In the last 30 days 2 of 10 invitations were rated, against 8 of 10" in page


def test_it_shows_no_response_rate_tip_when_the_rate_holds(client, owner, shop):
    _sent(shop, count=10, rated=5, days_ago=45)
    _sent(shop, count=10, rated=5, days_ago=10)
    assert RATE not in _page(client, owner)


def test_it_shows_the_seal_tip_when_the_average_nears_the_threshold(client, owner, shop):
    _seal(shop, count=60, total=266, tier=scoring.SILVER)  # 4.43, silver from 4.4
    assert SEAL in _page(client, owner)


def test_it_shows_the_seal_tip_when_old_reviews_will_leave_the_window(client, owner, shop):
    """R24: 11 of 60 reviews are older than 11 months; without them the shop has 49 reviews,
    too few for a tier."""
    old = timezone.now() - relativedelta(months=11, days=10)
    for _ in range(11):
        _review(shop, rating=5, at=old)
    _seal(shop, count=60, total=295, tier=scoring.GOLD)  # 4.91: far from the threshold
    assert SEAL in _page(client, owner)


def test_it_shows_no_seal_tip_for_a_safe_seal(client, owner, shop):
    _review(shop, rating=5, at=timezone.now() - relativedelta(months=10))
    _seal(shop, count=60, total=295, tier=scoring.GOLD)
    assert SEAL not in _page(client, owner)


# --- Dismissal ----------------------------------------------------------------------------------


def test_it_dismisses_a_tip_for_this_user_only_and_confirms(client, owner, shop, other_client):
    """R48: dismissed for the user who asked; a colleague still sees it; a message confirms."""
    _review(shop, rating=1)
    colleague = factories.MembershipFactory(company=shop.company, role=Role.VIEWER).user
    client.force_login(owner)

    response = client.post(_dismiss_url(shop, Tip.NEGATIVE_REVIEW), follow=True)

    page = response.content.decode()
    assert "The tip was dismissed." in page
    assert NEGATIVE not in page
    assert NEGATIVE not in client.get(DASHBOARD).content.decode()
    assert NEGATIVE in _page(other_client, colleague)
    assert TipDismissal.objects.for_company(shop.company).get().user == owner


def test_it_dismisses_with_htmx_and_twice_changes_nothing(client, owner, shop):
    _review(shop, rating=1)
    client.force_login(owner)
    for _ in range(2):
        response = client.post(_dismiss_url(shop, Tip.NEGATIVE_REVIEW), HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert 'role="status">The tip was dismissed.' in response.content.decode()
    assert TipDismissal.objects.for_company(shop.company).count() == 1


def test_it_keeps_other_tips_and_shops_when_one_is_dismissed(client, owner, shop):
    _review(shop, rating=1)
    _seal(shop, count=60, total=266, tier=scoring.SILVER)
    client.force_login(owner)
    client.post(_dismiss_url(shop, Tip.SEAL_AT_RISK))
    page = client.get(DASHBOARD).content.decode()
    assert NEGATIVE in page and SEAL not in page


def test_it_refuses_an_unknown_tip_a_get_and_a_foreign_shop(client, owner, shop, other_shop):
    """TI-1: another company's shop is a 404 like a missing one; nothing is written."""
    client.force_login(owner)
    assert client.post(_dismiss_url(shop, "free-money")).status_code == 404
    assert client.get(_dismiss_url(shop, Tip.NEGATIVE_REVIEW)).status_code == 405
    assert client.post(_dismiss_url(other_shop, Tip.NEGATIVE_REVIEW)).status_code == 404
    assert not TipDismissal.objects.unscoped().exists()
