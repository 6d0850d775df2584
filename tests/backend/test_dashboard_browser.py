"""The dashboard in a real browser (R24, R48, AU-5): a TOTP login end to end, the charts at
desktop and phone widths without horizontal scrolling or CSP violations, dismissing a tip with
htmx and switching shops. Screenshots go to var/test-artifacts/screenshots/."""

from __future__ import annotations

import base64
import datetime
import random
import time
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from django.conf import settings as django_settings
from django.utils import timezone
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from companies.services_totp import BACKEND_DEVICE
from guidance.models import TipDismissal
from invitations.models import Invitation
from seals.services import seal_recompute
from tests import factories
from tests.browser import log_in, no_horizontal_scroll, totp_code

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(django_settings.BASE_DIR) / "var" / "test-artifacts" / "screenshots"


def _seed_reviews(shop) -> None:
    """About 24 months of reviews, mostly good, a few critical ones, growing over time."""
    rng = random.Random(48)
    now = timezone.now()
    for months_ago in range(24):
        month = now - relativedelta(months=months_ago)
        for _ in range(4 + (24 - months_ago) // 2):
            rating = rng.choices([5, 4, 3, 2, 1], weights=[62, 22, 8, 5, 3])[0]
            at = month - datetime.timedelta(days=rng.randrange(0, 27), hours=rng.randrange(24))
            factories.ReviewFactory(
                shop=shop, invitation=None, rating=rating, submitted_at=at, published_at=at
            )
    seal_recompute(shop_id=shop.pk)


def _seed_invitations(shop) -> None:
    now = timezone.now()
    for index in range(40):
        sent_at = now - datetime.timedelta(days=index * 2 + 1)
        rated = index % 3 == 0
        factories.InvitationFactory(
            shop=shop,
            status=Invitation.Status.RATED if rated else Invitation.Status.SENT,
            sent_at=sent_at,
            used_at=sent_at + datetime.timedelta(days=2) if rated else None,
            reminders_sent=index % 2,
        )
    factories.OrderFactory.create_batch(6, shop=shop)  # orders that got no invitation


def _overflowing(page) -> list[str]:
    """The elements that stick out on the right: the failure message of the width check."""
    return page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth).map(e => e.tagName + '.' + e.className).slice(0, 10)"
    )


def test_it_logs_in_with_a_code_and_shows_the_dashboard_at_every_width(
    live_server, browser_context, company, shop, owner
):
    _seed_reviews(shop)
    _seed_invitations(shop)
    outlet = factories.ShopFactory(company=company, name="ACME-A Outlet", slug="acme-a-outlet")
    device = TOTPDevice.objects.create(user=owner, name=BACKEND_DEVICE, confirmed=True)
    page = browser_context.new_page()
    csp_errors = []
    page.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )

    log_in(page, live_server.url, owner.email, lands_on="/accounts/login/code/")
    page.get_by_label("Code from your authenticator app").fill(totp_code(device))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/backend/")

    # The Outlet comes first by name; switch to the shop with the reviews.
    page.get_by_label("Shop", exact=True).select_option(label="ACME-A Shop")
    page.locator("form.bk-switch").filter(has=page.get_by_label("Shop", exact=True)).get_by_role(
        "button", name="Switch"
    ).click()
    page.wait_for_load_state()
    main = page.locator("main")
    assert "You are now working on the shop ACME-A Shop." in main.inner_text()
    assert page.get_by_role("img", name="Rating trend over 24 months").is_visible()
    assert page.get_by_role("img", name="Star distribution over the last 12 months").is_visible()
    assert "Response rate (rated per sent)" in main.inner_text()
    assert "Answering a critical review" in main.inner_text()  # a negative review arrived

    page.set_viewport_size({"width": 1280, "height": 900})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-desktop.png"), full_page=True)
    for width in (375, 320):
        page.set_viewport_size({"width": width, "height": 800})
        assert no_horizontal_scroll(page), _overflowing(page)
        assert page.get_by_role("img", name="Rating trend over 24 months").is_visible()
        if width == 375:
            page.screenshot(path=str(SCREENSHOTS / "dashboard-phone.png"), full_page=True)

    tip = page.locator("#tip-negative-review")
    tip.get_by_role("button", name="Dismiss this tip").click()
    page.get_by_text("The tip was dismissed.").wait_for()
    assert page.url == f"{live_server.url}/backend/"  # htmx swapped the tip in place
    assert TipDismissal.objects.for_company(company).filter(user=owner, shop=shop).exists()
    page.reload()
    assert page.locator("#tip-negative-review").count() == 0
    assert csp_errors == []
    assert outlet.name not in page.locator("main").inner_text()


def test_it_sets_up_two_step_login_on_a_phone(live_server, browser_context, shop, owner):
    """AU-5: the secret shown on the Security page works in an app: its code switches the
    second factor on; the long otpauth:// link wraps at 320 px."""
    page = browser_context.new_page()
    page.set_viewport_size({"width": 320, "height": 800})
    log_in(page, live_server.url, owner.email)

    page.get_by_role("link", name="Security").click()
    page.get_by_role("button", name="Set up two-step login").click()
    secret = page.locator("code.bd-secret").inner_text()
    assert page.locator("a.bd-uri").get_attribute("href").startswith("otpauth://totp/")
    assert no_horizontal_scroll(page), _overflowing(page)
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int(time.time() // 30)
    page.get_by_label("Code from your authenticator app").fill(f"{hotp(key, counter):06d}")
    page.get_by_role("button", name="Confirm and switch on").click()

    page.get_by_text("Two-step login is on. We will ask for a code at every login.").wait_for()
    assert TOTPDevice.objects.get(user=owner).confirmed
