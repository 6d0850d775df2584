"""An owner accepts an offer on a phone in a real browser (R44; pages work at 320 px)."""

from __future__ import annotations

import pytest

from companies.models import Role
from terms import services
from terms.models import Offer, OfferAcceptance
from tests import factories
from tests.browser import log_in, no_horizontal_scroll

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_lets_an_owner_accept_an_offer_on_a_phone(
    live_server, settings, eager_tasks, browser_context
):
    """R44: read the offer, tick the confirmation, accept; the page fits 320 px."""
    settings.SITE_URL = live_server.url
    company = factories.CompanyFactory(name="Phone Shop GmbH")
    owner = factories.MembershipFactory(company=company, role=Role.OWNER).user
    plan = factories.PlanFactory(name="Phone plan")
    offer = Offer.objects.for_company(company).create(
        company=company, plan=plan, special_terms="A very long special term " * 8
    )
    services.offer_send(offer=offer)

    page = browser_context.new_page()
    page.set_viewport_size({"width": 320, "height": 800})
    log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/backend/contract/")
    page.click("text=Read the offer")
    assert page.is_visible("text=Phone plan")
    assert no_horizontal_scroll(page)

    page.click("button:has-text('Accept the offer')")  # without the tick: refused
    assert page.is_visible("#confirm-error")
    page.check("input[name=confirm]")
    page.click("button:has-text('Accept the offer')")
    page.wait_for_url(f"{live_server.url}/backend/contract/")
    assert page.is_visible("text=the contract concluded")
    assert no_horizontal_scroll(page)
    acceptance = OfferAcceptance.objects.for_company(company).get()
    assert acceptance.accepted_by == owner
