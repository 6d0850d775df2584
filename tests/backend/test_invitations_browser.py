"""A business from sign-up to its first invitations, in a real browser (R1, R3, R5, AU-5, IN-3):
sign up, confirm the address from the SMTP sink, log in, create an API key (shown once), upload
a CSV of orders and watch the progress bar reach 100 %, find the invitations in the list, and
write the invitation email with its live preview."""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile

from companies.models import Shop
from companies.tenancy import tenant_scope
from invitations.csv_import import order_import_run
from invitations.models import OrderImport
from tests.browser import log_in, no_horizontal_scroll, sign_up_and_confirm

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a long Passphrase 2026!"
CSV = (
    "order_id,email,first_name,order_date\n"
    "WEB-1,kim@example.net,Kim,2026-11-20\n"
    "WEB-2,no address,Lu,2026-11-20\n"
    "WEB-3,max@example.net,Max,20.11.2026\n"
)
SIGN_UP = {
    "Company name": "Echo Goods GmbH",
    "Street and number": "Hafenstraße 1",
    "Postal code": "20457",
    "City": "Hamburg",
    "VAT ID": "DE136695976",
    "Shop name": "Echo Goods",
    "First name": "Eda",
    "Last name": "Echo",
}


def _create_api_key(page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integration").click()
    page.get_by_label("Name of the new key").fill("Shop system")
    page.get_by_role("button", name="Create API key").click()
    secret = page.locator("#secret-value").input_value()
    assert len(secret) > 20 and "it will not be shown again" in page.inner_text("main")
    page.reload()
    assert page.locator("#secret-value").count() == 0 and secret not in page.content()


def _upload_csv(page, tmp_path) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Invitations").click()
    page.get_by_role("link", name="CSV upload").click()
    path = tmp_path / "orders.csv"
    path.write_text(CSV, encoding="utf-8")
    page.get_by_label("CSV file of orders").set_input_files(str(path))
    page.get_by_role("button", name="Upload and import").click()
    page.wait_for_url(re.compile(r".*/backend/invitations/imports/[0-9a-f-]{36}/$"))


def test_it_takes_a_business_from_sign_up_to_its_first_invitations(
    live_server, settings, mail_sink, eager_tasks, browser_context, tmp_path
):
    """R1, R3, R5, IN-3: the whole first day of a new customer, at phone width."""
    settings.SITE_URL = live_server.url
    page = browser_context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 320, "height": 800})
    email, _ = sign_up_and_confirm(page, live_server.url, mail_sink, SIGN_UP, PASSWORD)
    log_in(page, live_server.url, email, PASSWORD)
    _create_api_key(page)

    _upload_csv(page, tmp_path)

    status = page.locator("#import-status")
    status.and_(page.locator('[data-status="done"]')).wait_for()
    assert page.locator("#import-progress").get_attribute("value") == "100"
    assert "100 %" in status.inner_text()
    page.screenshot(path=str(tmp_path / "import-phone.png"), full_page=True)
    report = status.locator(".inv-report tbody tr")
    assert report.count() == 1 and "WEB-2" in report.inner_text()
    assert no_horizontal_scroll(page)
    page.get_by_role("link", name="See the invitations").click()
    listed = page.locator(".inv-table tbody").inner_text()
    assert "WEB-1" in listed and "WEB-3" in listed and "WEB-2" not in listed
    assert "k•••@example.net" in listed and "kim@example.net" not in listed
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / "invitations-phone.png"), full_page=True)

    # A second file the worker has not picked up yet: the page polls until the import is done.
    shop = Shop.objects.unscoped().get(name="Echo Goods")
    job = OrderImport(company_id=shop.company_id, shop=shop, original_name="later.csv")
    job.source.save("later.csv", ContentFile(CSV.replace("WEB-", "LATER-").encode()), save=True)
    page.goto(f"{live_server.url}/backend/invitations/imports/{job.public_id}/")
    assert page.locator('#import-status[data-status="queued"]').count() == 1
    assert page.locator("#import-progress").get_attribute("value") == "0"
    with tenant_scope(shop.company_id):
        order_import_run(import_id=job.pk)  # what the worker does, while the browser polls
    page.locator('#import-status[data-status="done"]').wait_for(timeout=5000)
    assert "100 %" in page.locator("#import-status").inner_text()
    assert "LATER-2" in page.locator(".inv-report").inner_text()

    _edit_template_with_live_preview(page)
    assert console_errors == []  # no CSP violation, no htmx error on the way


def _edit_template_with_live_preview(page) -> None:
    """R7: the preview follows the typing (htmx POST with the form's CSRF token), template
    errors appear next to the field, and saving confirms."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Invitations").click()
    page.get_by_role("link", name="Email templates").click()
    page.get_by_role("link", name="Invitation (en)").click()
    subject = page.get_by_label("Subject")
    subject.fill("Hello {{ first_name }}, how was {{ shop_name }}?")
    preview = page.locator("#preview .inv-preview-subject")
    preview.filter(has_text="Hello Alex, how was Echo Goods?").wait_for(timeout=5000)
    subject.fill("Hello {{ first_name ")
    page.locator("#subject-errors .error").filter(has_text="syntax error").wait_for(timeout=5000)
    subject.fill("Your order at {{ shop_name }}")
    preview.filter(has_text="Your order at Echo Goods").wait_for(timeout=5000)
    page.get_by_role("button", name="Save").click()
    assert "was saved" in page.locator(".bk-messages").inner_text()
    assert page.get_by_label("Subject").input_value() == "Your order at {{ shop_name }}"
    assert no_horizontal_scroll(page)
