"""The business sign-up journey in a real browser (R1, AU-5; issue 7): sign up, confirm the
address from the SMTP sink, log in, and see the dashboard at desktop and phone widths."""

from __future__ import annotations

import pytest

from tests.browser import log_in, no_horizontal_scroll, sign_up_and_confirm

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a long Passphrase 2026!"
SIGN_UP = {
    "Company name": "Delta Deli GmbH",
    "Street and number": "Marktplatz 3",
    "Postal code": "20095",
    "City": "Hamburg",
    "VAT ID": "DE136695976",
    "Shop name": "Delta Deli",
    "First name": "Dana",
    "Last name": "Delta",
}


def test_it_takes_a_business_from_sign_up_to_the_dashboard(
    live_server, settings, mail_sink, eager_tasks, browser_context, tmp_path
):
    settings.SITE_URL = live_server.url
    page = browser_context.new_page()
    page.set_viewport_size({"width": 320, "height": 800})
    email, link = sign_up_and_confirm(page, live_server.url, mail_sink, SIGN_UP, PASSWORD)
    assert link.startswith(live_server.url)

    log_in(page, live_server.url, email, PASSWORD)
    assert "Delta Deli" in page.inner_text("main")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(tmp_path / "dashboard-desktop.png"), full_page=True)
