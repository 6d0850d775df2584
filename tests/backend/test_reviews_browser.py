"""The review pages in a real browser (R22, R2, TI-5): a manager answers a review with a public
comment and the visitor sees it on the (cached) certificate page at once; the list works at
phone widths. Screenshots go to var/test-artifacts/screenshots/."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from companies.models import Role
from reviews.models import CompanyComment, Review
from tests import factories
from tests.browser import log_in, no_horizontal_scroll
from tests.conftest import fresh_address

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = django_settings.BASE_DIR / "var" / "test-artifacts" / "screenshots"


def _reviews(shop) -> Review:
    product = factories.ProductFactory(shop=shop, name="Green tea, 250 g")
    now = timezone.now()
    for days, rating, text in [
        (1, 5, "Fast delivery and the tea tastes wonderful."),
        (3, 4, "Good tea; the parcel took a few days longer than announced."),
        (6, 1, '=HYPERLINK("http://x","y") nothing arrived at all'),
        (9, 3, ""),
    ]:
        factories.ReviewFactory(
            shop=shop, rating=rating, comment=text, submitted_at=now - datetime.timedelta(days)
        )
    factories.ReviewFactory(shop=shop, kind=Review.Kind.PRODUCT, product=product, rating=4)
    return factories.ReviewFactory(
        shop=shop,
        rating=2,
        comment="The tea arrived cold and the tin was dented.",
        display_name="Sam",
    )


def test_it_lets_a_manager_answer_a_review_shown_at_once_on_the_certificate_page(
    live_server, settings, chromium, browser_context
):
    """R22, TI-5: the certificate page was served (and cached) before the comment; after the
    manager saves it in the backend, the public page shows it. The list is usable at 320 and
    375 px without sideways scrolling (R2)."""
    settings.SITE_URL = live_server.url
    company = factories.CompanyFactory(name="Tea House GmbH")
    shop = factories.ShopFactory(company=company, name="Tea House", slug="tea-house")
    manager = factories.MembershipFactory(company=company, role=Role.MANAGER).user
    review = _reviews(shop)
    reply = "We are sorry! A new tin is on its way to you."

    # A visitor's request fills the server's cache of the certificate page.
    visitor = chromium.new_context(extra_http_headers={"X-Forwarded-For": fresh_address()})
    public = visitor.new_page()
    public.goto(f"{live_server.url}/c/{shop.slug}/")
    assert "The tea arrived cold" in public.inner_text("main")
    assert reply not in public.content()
    visitor.close()

    page = browser_context.new_page()
    log_in(page, live_server.url, manager.email)
    page.get_by_role("link", name="Reviews", exact=True).click()
    page.wait_for_url(f"{live_server.url}/backend/reviews/")
    page.get_by_label("2★").check()
    page.get_by_role("button", name="Show reviews").click()
    page.wait_for_url("**/backend/reviews/?*stars=2*")
    assert page.locator(".rv-item").count() == 1
    page.get_by_role("link", name="Open review").click()
    page.wait_for_url(f"{live_server.url}/backend/reviews/{review.pk}/")
    page.get_by_role("textbox", name="Public comment").fill(reply)
    page.get_by_role("button", name="Publish comment").click()
    page.wait_for_url(f"**/backend/reviews/{review.pk}/#comment")
    assert "Your comment is published under the review." in page.inner_text("main")
    assert CompanyComment.objects.for_company(company).get(review=review).text == reply

    # A browser without the page in its own HTTP cache (max-age 60 s by design, seals.views)
    # gets it from the server, whose cached copy the comment retired (review_changed).
    fresh = chromium.new_context(extra_http_headers={"X-Forwarded-For": fresh_address()})
    public = fresh.new_page()
    public.goto(f"{live_server.url}/c/{shop.slug}/")
    assert reply in public.locator(".cert-reply").inner_text()
    fresh.close()


def test_it_shows_the_review_list_at_desktop_and_phone_widths(
    live_server, settings, browser_context
):
    """R2: the list with its filters and a review's page fit 320 px; screenshots of the list
    at 1280 and 375 px."""
    settings.SITE_URL = live_server.url
    company = factories.CompanyFactory(name="Tea House GmbH")
    shop = factories.ShopFactory(company=company, name="Tea House", slug="tea-house-2")
    viewer = factories.MembershipFactory(company=company, role=Role.VIEWER).user
    _reviews(shop)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page = browser_context.new_page()
    log_in(page, live_server.url, viewer.email)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/backend/reviews/")
    assert page.locator(".rv-item").count() == 6
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(SCREENSHOTS / "reviews-list-desktop.png"), full_page=True)
    for width in (375, 320):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"{live_server.url}/backend/reviews/")
        assert no_horizontal_scroll(page), width
        if width == 375:
            page.screenshot(path=str(SCREENSHOTS / "reviews-list-phone.png"), full_page=True)
    page.get_by_role("link", name="Open review").first.click()
    page.wait_for_url("**/backend/reviews/*/")
    assert "Version history" in page.inner_text("main") and no_horizontal_scroll(page)
    assert (SCREENSHOTS / "reviews-list-desktop.png").stat().st_size > 0
    assert (SCREENSHOTS / "reviews-list-phone.png").stat().st_size > 0
