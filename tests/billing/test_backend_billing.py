"""The backend billing page: owners only, contract facts, invoices, termination (R33) and
upgrades (R40); another company's invoice is a 404 (TI-1)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import facturx
import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import services
from billing.models import Contract, Invoice
from companies.models import Role
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/backend/billing/"


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def contract(company, today):
    """A 12/12 contract that started ten days ago, with its first invoice."""
    contract = factories.ContractFactory(company=company, starts_on=today - datetime.timedelta(10))
    services.billing_run(today=today)
    contract.refresh_from_db()
    return contract


def _member(company, role):
    return factories.MembershipFactory(company=company, role=role).user


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MANAGER])
def test_it_refuses_billing_to_viewers_and_managers(client, company, contract, role):
    """R2: billing is the owners' business: other roles get the 403 page, no link, no PDF."""
    client.force_login(_member(company, role))
    invoice = Invoice.objects.for_company(company).get()
    for path in (URL, f"{URL}invoices/{invoice.pk}/pdf/", f"{URL}terminate/"):
        response = client.get(path)
        assert response.status_code == 403
        assert invoice.number not in response.content.decode()
    assert client.post(f"{URL}terminate/", {"confirm": "on"}).status_code == 403
    assert 'href="/backend/billing/"' not in client.get("/backend/").content.decode()
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE


def test_it_shows_plan_period_renewal_notice_and_invoices(client, owner, company, contract):
    """R33/R34: plan, current period, next renewal, "terminate by … to end on …", invoices."""
    client.force_login(owner)
    body = client.get(URL).content.decode()
    end = contract.current_period_end
    assert contract.plan.name in body
    assert f"{contract.current_period_start:%d.%m.%Y} – {end:%d.%m.%Y}" in body
    assert f"{end + datetime.timedelta(days=1):%d.%m.%Y}" in body
    assert f"to end on {end:%d.%m.%Y}" in body
    invoice = Invoice.objects.for_company(company).get()
    assert invoice.number in body and f"{URL}invoices/{invoice.pk}/pdf/" in body
    assert 'href="/backend/billing/"' in client.get("/backend/").content.decode()


def test_it_links_the_payment_page_only_when_it_exists(client, owner, contract):
    """The payments area's page is linked once its URL resolves (``backend:payment``)."""
    from django.urls import NoReverseMatch, reverse

    client.force_login(owner)
    body = client.get(URL).content.decode()
    try:
        payment = reverse("backend:payment")
    except NoReverseMatch:
        assert "Payment method and direct debit mandate" not in body
    else:
        assert f'href="{payment}"' in body


def test_it_lists_invoices_with_a_fixed_number_of_queries(client, owner, company, contract):
    """The invoice list costs the same queries for 1 and for 12 invoices."""
    client.force_login(owner)
    client.get(URL)
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL).status_code == 200
    for month in range(1, 12):
        services.charge_invoice_issue(
            contract=contract,
            key=f"test:{month}",
            lines=[("Fee", Decimal(1), Decimal("1.00"))],
            issued_on=datetime.date(2026, month, 1),
        )
    with CaptureQueriesContext(connection) as large:
        body = client.get(URL).content.decode()
    assert body.count("/pdf/") == 12
    assert len(large) == len(small)


def test_it_downloads_the_invoice_pdf_with_its_e_invoice(client, owner, company, contract):
    """R34: the PDF is downloadable in the backend and carries the EN 16931 XML."""
    client.force_login(owner)
    invoice = Invoice.objects.for_company(company).get()
    response = client.get(f"{URL}invoices/{invoice.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert invoice.number in response["Content-Disposition"]
    _name, xml = facturx.get_xml_from_pdf(response.content, check_xsd=True)
    assert invoice.number.encode() in xml
    assert client.get(f"{URL}invoices/{invoice.pk}/pdf/").content == response.content


def test_it_answers_another_companys_invoice_with_404(client, owner, company, other_company):
    """TI-1: an invoice id of another company is a 404, like a missing one."""
    other = factories.ContractFactory(company=other_company)
    foreign = services.invoice_issue_for_period(contract=other, period_start=other.starts_on)
    client.force_login(owner)
    assert client.get(f"{URL}invoices/{foreign.pk}/pdf/").status_code == 404
    assert client.get(f"{URL}invoices/{foreign.pk + 1000}/pdf/").status_code == 404


def test_it_terminates_in_text_form_with_a_confirmation_page_and_email(
    client, owner, company, contract, eager, django_capture_on_commit_callbacks
):
    """R33, 004 §13.5: the owner terminates in the backend (reason optional), sees the end date
    on a confirmation page and gets it by email; in time, it ends with the current term."""
    client.force_login(owner)
    form = client.get(f"{URL}terminate/").content.decode()
    assert f"ends on {contract.current_period_end:%d.%m.%Y}" in form
    assert client.post(f"{URL}terminate/", {"reason": "Too expensive"}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{URL}terminate/", {"reason": "Too expensive", "confirm": "on"}, follow=True
        )
    contract.refresh_from_db()
    assert contract.status == Contract.Status.TERMINATED
    assert contract.ends_on == contract.current_period_end
    assert contract.termination_reason == "Too expensive"
    page = response.content.decode()
    assert "Termination confirmed" in page and f"{contract.ends_on:%d.%m.%Y}" in page
    (confirmation,) = [m for m in mail.outbox if "termination" in m.subject.lower()]
    assert confirmation.to == [owner.email]
    assert f"{contract.ends_on:%d.%m.%Y}" in confirmation.body


def test_it_upgrades_from_the_backend(client, owner, company, contract, today):
    """R40: the owner picks an offered higher plan; it starts today and is invoiced at once."""
    higher = factories.PlanFactory(price_per_period=Decimal("149.00"), upgrade_offer=True)
    lower = factories.PlanFactory(price_per_period=Decimal("49.00"), upgrade_offer=True)
    client.force_login(owner)
    page = client.get(URL).content.decode()
    assert higher.name in page and lower.name not in page
    assert client.post(f"{URL}upgrade/", {"plan": lower.pk}).status_code == 302
    contract.refresh_from_db()
    assert contract.plan_id != lower.pk
    response = client.post(f"{URL}upgrade/", {"plan": higher.pk}, follow=True)
    assert higher.name in response.content.decode()
    contract.refresh_from_db()
    assert (contract.plan_id, contract.current_period_start) == (higher.pk, today)
    upgrade = Invoice.objects.for_company(company).get(charge_key__startswith="upgrade:")
    assert upgrade.net == Decimal("1788.00")
    assert Invoice.objects.for_company(company).filter(kind="credit_note").count() == 1
