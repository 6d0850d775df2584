"""The dashboard of the shop chosen in the header: seal and next tier, rating trend and star
distribution as inline SVG with data tables, invitation funnel and coverage, the shop switcher,
and a fixed number of queries (R2, R24, R48, TI-1, STYLE 10)."""

from __future__ import annotations

import datetime
import re

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from companies.middleware import SESSION_SHOP_KEY
from companies.selectors_dashboard import shop_dashboard
from invitations.models import Invitation
from reviews.models import Review
from seals import scoring
from seals.models import SealStatus
from seals.services import seal_recompute
from tests import factories

pytestmark = pytest.mark.django_db

DASHBOARD = "/backend/"
SWITCH_SHOP = "/backend/switch-shop/"


def _seal(shop, *, count, total, tier, as_of=datetime.date(2026, 11, 1)):
    return SealStatus.objects.unscoped().create(
        company=shop.company,
        shop=shop,
        review_count=count,
        rating_sum=total,
        tier=tier,
        status_as_of=as_of,
    )


def _month_start(months_ago: int) -> datetime.datetime:
    local = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return local - relativedelta(months=months_ago)


def _review(shop, *, rating, at, **extra):
    return factories.ReviewFactory(
        shop=shop, invitation=None, rating=rating, submitted_at=at, published_at=at, **extra
    )


def _hidden_row(page: str, label: str) -> list[str]:
    """The cells of one row of a chart's data table, by its row header."""
    match = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', page)
    assert match, label
    return re.findall(r"<td>(.*?)</td>", match.group(1))


def test_it_shows_the_seal_its_status_date_and_what_the_next_tier_needs(client, owner, shop):
    """R24/R25: tier, 12-month average, "Status as of" and the next tier's facts."""
    _seal(shop, count=60, total=255, tier=scoring.BRONZE, as_of=datetime.date(2026, 11, 20))
    client.force_login(owner)

    page = client.get(DASHBOARD).content.decode()

    needed = scoring.reviews_needed_for(count=60, total=255, tier=scoring.SILVER)
    assert "Bronze" in page and "4.2" in page and "60 reviews" in page
    assert 'Status as of <time datetime="2026-11-20">' in page
    assert f"Next tier (silver): {needed} more 5-star reviews, average must reach 4.4." in page


def test_it_says_when_the_shop_has_the_highest_tier(client, owner, shop):
    _seal(shop, count=80, total=395, tier=scoring.GOLD)
    client.force_login(owner)
    page = client.get(DASHBOARD).content.decode()
    assert "Gold" in page and "This is the highest tier." in page and "Next tier" not in page


def test_it_draws_the_24_month_trend_from_published_merchant_reviews(client, owner, shop):
    """R24: monthly count and average over 24 calendar months, as an SVG with a title and a
    data table; unpublished, older and other shops' reviews do not count."""
    two_months_ago = _month_start(2) + datetime.timedelta(days=9)
    _review(shop, rating=5, at=two_months_ago)
    _review(shop, rating=2, at=two_months_ago + datetime.timedelta(hours=5))
    _review(shop, rating=4, at=_month_start(23) + datetime.timedelta(days=3))
    _review(shop, rating=1, at=_month_start(24) + datetime.timedelta(days=3))  # 25th month back
    _review(shop, rating=1, at=two_months_ago, status=Review.Status.UNPUBLISHED)
    _review(factories.ShopFactory(company=shop.company), rating=1, at=two_months_ago)
    client.force_login(owner)

    page = client.get(DASHBOARD).content.decode()

    assert '<title id="trend-title">Rating trend over 24 months</title>' in page
    assert _hidden_row(page, two_months_ago.strftime("%B %Y")) == ["2", "3.5"]
    assert _hidden_row(page, _month_start(23).strftime("%B %Y")) == ["1", "4.0"]
    assert _month_start(24).strftime("%B %Y") not in page
    assert _hidden_row(page, _month_start(0).strftime("%B %Y")) == ["0", "–"]
    assert page.count('<rect class="bd-bar"') == 2  # one bar per month with reviews
    assert page.count('<circle class="bd-dot"') == 2
    assert "<polyline" in page


def test_it_draws_the_star_distribution_of_the_12_month_window(client, owner, shop):
    now = timezone.now()
    for rating in (5, 5, 5, 4, 1):
        _review(shop, rating=rating, at=now - datetime.timedelta(days=20))
    _review(shop, rating=3, at=now - relativedelta(months=13))  # outside the seal's window
    client.force_login(owner)

    page = client.get(DASHBOARD).content.decode()

    assert '<title id="stars-title">Star distribution over the last 12 months</title>' in page
    assert "5 reviews in all" in page
    assert _hidden_row(page, "5") == ["3", "60&nbsp;%"]
    assert _hidden_row(page, "4") == ["1", "20&nbsp;%"]
    assert _hidden_row(page, "3") == ["0", "0&nbsp;%"]
    assert _hidden_row(page, "1") == ["1", "20&nbsp;%"]


def test_it_shows_the_invitation_funnel_and_coverage(client, owner, shop, other_shop):
    """Orders, invited, sent, reminded, rated, expired; response rate = rated/sent; coverage =
    orders of the last 30 days that got an invitation (moderation.integrity's definition)."""
    now = timezone.now()
    sent = {"status": Invitation.Status.SENT, "sent_at": now - datetime.timedelta(days=5)}
    factories.InvitationFactory.create_batch(3, shop=shop, **sent)
    factories.InvitationFactory(shop=shop, reminders_sent=1, **sent)
    factories.InvitationFactory(
        shop=shop, status=Invitation.Status.RATED, used_at=now, sent_at=sent["sent_at"]
    )
    factories.InvitationFactory(shop=shop, status=Invitation.Status.EXPIRED)
    factories.InvitationFactory(shop=shop)  # scheduled: invited, not sent yet
    factories.OrderFactory.create_batch(3, shop=shop)  # never invited
    old = factories.OrderFactory(shop=shop, ordered_at=now - relativedelta(months=13))
    factories.InvitationFactory(shop=shop, order=old, **sent)  # outside the 12 months
    factories.InvitationFactory.create_batch(4, shop=other_shop, **sent)
    client.force_login(owner)

    data = shop_dashboard(shop=shop)
    page = client.get(DASHBOARD).content.decode()

    assert (data.funnel.orders, data.funnel.invited, data.funnel.sent) == (10, 7, 5)
    assert (data.funnel.reminded, data.funnel.rated, data.funnel.expired) == (1, 1, 1)
    assert data.funnel.response_rate == 20
    assert '<th scope="row">Orders</th><td>10</td>' in page
    assert '<th scope="row">Sent</th><td>5</td>' in page
    assert "<td>20&nbsp;%</td>" in page
    assert (data.coverage.orders, data.coverage.invited, data.coverage.share) == (10, 5, 50)
    assert "5 of 10 orders of the last 30 days got an invitation." in page


def test_it_shows_empty_states_without_data(client, owner, shop):
    client.force_login(owner)
    page = client.get(DASHBOARD).content.decode()
    assert "No reviews in the last 12 months yet." in page
    assert "No orders in the last 30 days." in page
    assert "<td>–</td>" in page  # no response rate before the first sent invitation
    assert "General advice" not in page


def test_it_shows_a_clear_page_for_a_company_without_shops(client, company, owner):
    client.force_login(owner)
    page = client.get(DASHBOARD).content.decode()
    assert "This company has no shop yet." in page


def _fill(shop, *, reviews: int, orders: int) -> None:
    now = timezone.now()
    for index in range(reviews):
        at = _month_start(index % 24) + datetime.timedelta(hours=12)
        _review(shop, rating=1 + index % 5, at=at)
    for index in range(orders):
        factories.InvitationFactory(
            shop=shop,
            status=Invitation.Status.SENT,
            sent_at=now - datetime.timedelta(days=index % 60),
            reminders_sent=index % 2,
        )
    seal_recompute(shop_id=shop.pk)


def test_it_counts_a_fixed_number_of_queries_whatever_the_amount_of_data(client, owner, shop):
    """STYLE 10: session, user, company (middleware), company list (switcher), membership,
    shops (require_role), seal, monthly trend, review facts, order facts (selectors_dashboard),
    tip dismissals: the same for a few rows and for hundreds, with several shops."""
    _fill(shop, reviews=3, orders=2)
    client.force_login(owner)
    client.get(DASHBOARD)
    with CaptureQueriesContext(connection) as small:
        client.get(DASHBOARD)
    _fill(shop, reviews=240, orders=120)
    factories.ShopFactory.create_batch(3, company=shop.company)
    with CaptureQueriesContext(connection) as large:
        page = client.get(DASHBOARD).content.decode()
    counted = SealStatus.objects.unscoped().get(shop=shop, product__isnull=True).review_count
    assert counted > 100 and f"{counted} reviews" in page
    assert len(large) == len(small) <= 11, [q["sql"] for q in large.captured_queries]


def test_it_aggregates_months_in_sql_not_in_a_loop(shop):
    """One GROUP BY over the months, never one query per month."""
    _fill(shop, reviews=48, orders=0)
    with CaptureQueriesContext(connection) as queries:
        data = shop_dashboard(shop=shop)
    assert len(queries) == 4
    assert sum(point.count for point in data.trend.points) == 48
    assert any("GROUP BY" in q["sql"] and "DATE_TRUNC" in q["sql"] for q in queries)


# --- The shop switcher (R2, TI-1) -------------------------------------------------------------


@pytest.fixture
def second_shop(company):
    return factories.ShopFactory(company=company, name="ACME-A Outlet", slug="acme-a-outlet")


def test_it_shows_the_first_shop_by_name_by_default(client, owner, shop, second_shop):
    """Without a choice in the session, the company's first shop by name (Outlet < Shop)."""
    _seal(shop, count=70, total=345, tier=scoring.GOLD)
    client.force_login(owner)
    page = client.get(DASHBOARD).content.decode()
    assert f'<h2 id="shop-{second_shop.pk}">ACME-A Outlet</h2>' in page
    assert "ACME-A Shop</h2>" not in page
    assert 'id="switch-shop"' in page
    assert "Gold" not in page  # the other shop's seal is not shown


def test_it_switches_the_shop_and_each_page_shows_only_that_shop(client, owner, shop, second_shop):
    _seal(shop, count=70, total=345, tier=scoring.GOLD)
    _review(second_shop, rating=1, at=timezone.now())
    client.force_login(owner)

    response = client.post(SWITCH_SHOP, {"shop_id": shop.pk, "next": "/backend/"}, follow=True)

    page = response.content.decode()
    assert "You are now working on the shop ACME-A Shop." in page
    assert "ACME-A Shop</h2>" in page and "ACME-A Outlet</h2>" not in page
    assert "Gold" in page and "General advice" not in page  # the Outlet's 1-star tip is gone
    assert client.session[SESSION_SHOP_KEY] == shop.pk
    back = client.post(SWITCH_SHOP, {"shop_id": second_shop.pk}, follow=True).content.decode()
    assert "ACME-A Outlet</h2>" in back and "General advice" in back and "Gold" not in back


def test_it_refuses_another_companys_shop_like_a_missing_one(client, owner, shop, other_shop):
    """TI-1: a foreign shop id is a 404 and the session keeps its shop."""
    client.force_login(owner)
    client.post(SWITCH_SHOP, {"shop_id": shop.pk})
    foreign = client.post(SWITCH_SHOP, {"shop_id": other_shop.pk})
    missing = client.post(SWITCH_SHOP, {"shop_id": other_shop.pk + 1000})
    assert foreign.status_code == missing.status_code == 404
    assert client.session[SESSION_SHOP_KEY] == shop.pk
    assert "BETA-B Shop" not in client.get(DASHBOARD).content.decode()


def test_it_ignores_a_stale_shop_in_the_session(client, owner, shop, other_shop):
    """A shop id of another company left in the session falls back to the first own shop."""
    client.force_login(owner)
    session = client.session
    session[SESSION_SHOP_KEY] = other_shop.pk
    session.save()
    page = client.get(DASHBOARD).content.decode()
    assert "ACME-A Shop</h2>" in page and "BETA-B" not in page


def test_it_returns_to_the_page_it_came_from_but_only_inside_the_backend(
    client, owner, shop, second_shop
):
    client.force_login(owner)
    inside = client.post(SWITCH_SHOP, {"shop_id": shop.pk, "next": "/backend/team/"})
    outside = client.post(SWITCH_SHOP, {"shop_id": shop.pk, "next": "https://evil.example/"})
    assert inside["Location"] == "/backend/team/"
    assert outside["Location"] == "/backend/"
