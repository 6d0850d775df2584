"""The backend payment page (R35): owners grant, replace and revoke the SEPA mandate; the IBAN
is shown masked; errors sit next to their field; other roles and companies see nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from companies.models import Role
from payments.models import Mandate
from payments.services import mandate_create, payment_record
from tests import factories
from tests.browser import logged_in, no_horizontal_scroll
from tests.payments.conftest import issue

pytestmark = pytest.mark.django_db
D = datetime.date
URL = "/backend/billing/payment/"
FORM = {
    "account_holder": "ACME-A Trading GmbH",
    "iban": "de89 3704 0044 0532 0130 00",
    "bic": "",
    "authorise": "on",
}


def test_it_resolves_the_page_by_name():
    """R35: ``backend:payment`` is the mandate page."""
    assert reverse("backend:payment") == URL


def test_it_lets_the_owner_grant_a_mandate_and_shows_the_iban_masked(client, owner, company):
    """R35: the owner grants the mandate; the page confirms and masks the IBAN."""
    client.force_login(owner)
    response = client.post(URL, FORM)
    assert response.status_code == 302

    mandate = Mandate.objects.for_company(company).get()
    assert mandate.iban == "DE89370400440532013000" and mandate.bic == "COBADEFFXXX"
    assert mandate.signed_by == owner and mandate.status == Mandate.Status.ACTIVE
    page = client.get(URL).content.decode()
    assert "The SEPA direct debit mandate was saved." in page
    assert "DE89 •••• 3000" in page and "0532013000" not in page
    assert mandate.reference in page and "DE98ZZZ09999999999" in page


def test_it_shows_errors_next_to_the_fields(client, owner, company):
    """R35: a wrong IBAN or a missing consent is reported at its field; nothing is saved."""
    client.force_login(owner)
    response = client.post(URL, {**FORM, "iban": "DE89370400440532013001", "authorise": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_iban-error"' in page and "This is not a valid IBAN." in page
    assert 'id="id_authorise-error"' in page
    assert not Mandate.objects.for_company(company).exists()


def test_it_replaces_and_revokes_the_mandate(client, owner, company):
    """R35: a new mandate replaces the active one; the owner can revoke it."""
    client.force_login(owner)
    client.post(URL, FORM)
    client.post(URL, {**FORM, "iban": "DE02120300000000202051"})
    old, new = Mandate.objects.for_company(company).order_by("pk")
    assert old.status == Mandate.Status.REVOKED and new.status == Mandate.Status.ACTIVE

    response = client.post(reverse("backend:payment-mandate-revoke", args=[new.pk]))
    assert response.status_code == 302
    new.refresh_from_db()
    assert new.status == Mandate.Status.REVOKED
    page = client.get(URL).content.decode()
    assert "was revoked" in page and "There is no active mandate" in page


def test_it_keeps_the_page_to_owners(client, company):
    """R2, R35: billing is the owner's: managers and viewers get no payment page."""
    for role in (Role.MANAGER, Role.VIEWER):
        user = factories.MembershipFactory(company=company, role=role).user
        client.force_login(user)
        assert client.get(URL).status_code == 403
        assert client.post(URL, FORM).status_code == 403
    assert not Mandate.objects.for_company(company).exists()


def test_it_answers_404_for_another_companys_mandate(client, owner, other_company):
    """TI-1: revoking another company's mandate is a 404 and changes nothing."""
    theirs = mandate_create(
        company=other_company,
        account_holder="BETA-B",
        iban="DE02120300000000202051",
        signed_on=D(2026, 1, 2),
    )
    client.force_login(owner)
    response = client.post(reverse("backend:payment-mandate-revoke", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Mandate.Status.ACTIVE
    assert "BETA-B" not in client.get(URL).content.decode()


@pytest.mark.parametrize("count", [2, 12])
def test_it_lists_open_items_in_a_fixed_number_of_queries(
    client, owner, company, contract, count, django_assert_max_num_queries
):
    """STYLE.md 10: open items and mandates cost the same queries for 2 or 12 invoices."""
    for month in range(count):
        invoice = issue(contract, D(2025, 5, 20) + datetime.timedelta(days=31 * month))
        if month == 0:
            payment_record(
                invoice=invoice, amount=Decimal("100.00"), received_on=D(2025, 6, 1), method="sepa"
            )
    for _ in range(3):
        mandate_create(
            company=company,
            account_holder="Alex",
            iban="DE89370400440532013000",
            signed_on=D(2026, 1, 2),
        )
    client.force_login(owner)
    client.get(URL)
    # session, user, membership and company (require_role), the user's companies and shops
    # (base template), savepoint pair, payment settings, mandates, open items.
    with django_assert_max_num_queries(14):
        page = client.get(URL)
    body = page.content.decode()
    assert body.count("<tr><td>20") == count  # invoice numbers start with the year
    assert "1090.00 €" in body


@pytest.mark.django_db(transaction=True)
def test_it_works_at_320_pixels_in_a_browser(live_server, browser_context, company, owner):
    """R35, STYLE: at phone width under the strict CSP the owner grants a mandate; a wrong
    IBAN is reported at its field first."""
    logged_in(browser_context, live_server.url, owner)
    page = browser_context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(f"{live_server.url}{URL}")
    assert no_horizontal_scroll(page)
    page.get_by_label("Account holder").fill("ACME-A Trading GmbH")
    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 01")
    page.get_by_label("I grant the SEPA direct debit mandate below.").check()
    page.get_by_role("button", name="Save mandate").click()
    assert page.get_by_text("This is not a valid IBAN.").is_visible()
    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    page.get_by_label("I grant the SEPA direct debit mandate below.").check()
    page.get_by_role("button", name="Save mandate").click()
    page.get_by_text("The SEPA direct debit mandate was saved.").wait_for()
    assert page.get_by_text("DE89 •••• 3000").is_visible()
    assert no_horizontal_scroll(page)
    assert Mandate.objects.for_company(company).get().bic == "COBADEFFXXX"
    # The refused form answers 400 on purpose; anything else (a CSP violation) is a problem.
    assert [p for p in problems if "status of 400" not in p] == []
