"""The billing page in a real browser at phone width: readable without sideways scrolling,
and a termination submitted there is confirmed (R33, R34)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from billing import services
from billing.models import Contract
from tests import factories
from tests.browser import logged_in, no_horizontal_scroll

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_shows_billing_and_takes_a_termination_at_320_px(browser_context, live_server):
    """R33/R34: at 320 px the page fits; the owner terminates and sees the end date."""
    company = factories.CompanyFactory(name="Phone Width GmbH")
    owner = factories.MembershipFactory(company=company).user
    today = timezone.localdate()
    contract = factories.ContractFactory(company=company, starts_on=today - datetime.timedelta(5))
    services.billing_run(today=today)
    contract.refresh_from_db()
    logged_in(browser_context, live_server.url, owner)
    page = browser_context.new_page()
    page.set_viewport_size({"width": 320, "height": 700})

    page.goto(f"{live_server.url}/backend/billing/")
    assert page.get_by_role("heading", name="Billing").is_visible()
    assert page.get_by_role("link", name="PDF").first.is_visible()
    assert no_horizontal_scroll(page)

    page.get_by_role("link", name="Terminate the contract").click()
    page.get_by_label("Reason (optional)").fill("Moving on")
    page.get_by_label("Yes, I terminate our contract").check()
    page.get_by_role("button", name="Terminate").click()

    assert page.get_by_role("heading", name="Termination confirmed").is_visible()
    assert f"{contract.current_period_end:%d.%m.%Y}" in page.content()
    assert no_horizontal_scroll(page)
    contract.refresh_from_db()
    assert contract.status == Contract.Status.TERMINATED
