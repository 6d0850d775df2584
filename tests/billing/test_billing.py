"""Contracts, terms, invoices and the daily billing run (R31-R34)."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from billing import selectors, services
from billing.models import Contract, Invoice, InvoiceLine
from companies.models import Company
from companies.tenancy import tenant_scope
from tests import factories

pytestmark = pytest.mark.django_db
D = datetime.date


START = D(2026, 2, 1)


def _active(company, plan=None, start=START):
    contract = factories.ContractFactory(
        company=company, plan=plan or factories.PlanFactory(), starts_on=start
    )
    services.billing_run(today=start)
    contract.refresh_from_db()
    return contract


def test_it_starts_on_the_first_order_when_it_comes_first(company, shop):
    """R32: the first order of any shop, before four weeks are up, starts the contract."""
    shop.went_live_at = datetime.datetime(2026, 1, 10, 12, tzinfo=datetime.UTC)
    shop.save()
    contract = services.contract_conclude(
        company=company, plan=factories.PlanFactory(), concluded_on=D(2026, 1, 5)
    )
    assert contract.starts_on == D(2026, 1, 10)


def test_it_starts_four_weeks_after_conclusion_when_no_order_came_first(company, shop):
    """R32: without an earlier order the contract starts four weeks after conclusion."""
    contract = services.contract_conclude(
        company=company, plan=factories.PlanFactory(), concluded_on=D(2026, 1, 5)
    )
    assert contract.starts_on == D(2026, 2, 2)
    assert services.billing_run(today=D(2026, 2, 1)) == 0
    services.billing_run(today=D(2026, 2, 2))
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE
    assert contract.current_period_end == D(2027, 2, 1)


def test_it_ends_a_12_12_contract_at_term_end_when_notice_is_in_time(company):
    """R33: one month's notice before the end of the 12-month minimum term is kept."""
    contract = _active(company)
    assert selectors.contract_notice_deadline(contract=contract) == D(2026, 12, 31)
    services.contract_terminate(contract=contract, requested_on=D(2026, 12, 31))
    assert contract.ends_on == D(2027, 1, 31)


def test_it_runs_a_12_12_contract_another_term_when_notice_is_late(company):
    """R33: notice after the deadline ends the contract at the end of the renewal term."""
    contract = _active(company)
    services.contract_terminate(contract=contract, requested_on=D(2027, 1, 1))
    assert contract.status == Contract.Status.TERMINATED
    assert contract.ends_on == D(2028, 1, 31)


def test_it_keeps_14_days_notice_on_the_monthly_plan(company):
    """R33, 001 §4.2: the monthly plan renews by a month with 14 days' notice."""
    plan = factories.PlanFactory(
        minimum_term_months=1, renewal_term_months=1, notice_period=14, notice_unit="days"
    )
    contract = _active(company, plan)
    assert selectors.contract_notice_deadline(contract=contract) == D(2026, 2, 14)
    late = services.contract_terminate(contract=contract, requested_on=D(2026, 2, 15))
    assert late.ends_on == D(2026, 3, 31)


@pytest.mark.django_db(transaction=True)
def test_it_numbers_invoices_gaplessly_under_concurrent_issues():
    """R34: ten concurrent issues get ten distinct numbers with no gap."""
    contracts = [factories.ContractFactory() for _ in range(10)]
    errors = []

    def issue(contract):
        try:
            services.invoice_issue_for_period(
                contract=contract, period_start=contract.starts_on, issued_on=D(2026, 2, 1)
            )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(c,)) for c in contracts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    numbers = sorted(Invoice.objects.unscoped().values_list("number", flat=True))
    assert numbers == [f"2026-{n:06d}" for n in range(1, 11)]


def test_it_restarts_numbers_each_year(company):
    """R34: the sequence starts again at 000001 on 1 January."""
    contract = factories.ContractFactory(company=company)
    first = services.invoice_issue_for_period(
        contract=contract, period_start=D(2026, 12, 1), issued_on=D(2026, 12, 1)
    )
    second = services.invoice_issue_for_period(
        contract=contract, period_start=D(2027, 1, 1), issued_on=D(2027, 1, 1)
    )
    assert (first.number, second.number) == ("2026-000001", "2027-000001")


@pytest.mark.parametrize(
    ("country", "vat_id", "treatment", "vat", "note"),
    [
        ("DE", "DE123456789", "de_vat", Decimal("18.98"), ""),
        ("AT", "ATU12345678", "reverse_charge", Decimal("0.00"), services.REVERSE_CHARGE_NOTE),
        ("CH", "CHE-123.456.789", "no_vat", Decimal("0.00"), ""),
    ],
)
def test_it_applies_the_vat_treatment_of_the_buyer(country, vat_id, treatment, vat, note):
    """R34: German VAT, EU reverse charge with its note, no VAT outside the EU."""
    company = factories.CompanyFactory(country=country, vat_id=vat_id)
    contract = factories.ContractFactory(company=company)
    invoice = services.invoice_issue_for_period(contract=contract, period_start=D(2026, 2, 1))
    assert invoice.vat_treatment == treatment
    assert invoice.net == Decimal("99.90")
    assert invoice.vat == vat
    assert invoice.gross == invoice.net + vat
    assert invoice.legal_note == note
    assert invoice.buyer_vat_id == vat_id


def test_it_refuses_to_change_or_delete_an_issued_invoice(company):
    """R34: the model refuses, and the database trigger refuses raw updates too."""
    contract = factories.ContractFactory(company=company)
    invoice = services.invoice_issue_for_period(contract=contract, period_start=D(2026, 2, 1))
    with pytest.raises(ValidationError):
        invoice.save()
    with pytest.raises(ValidationError):
        invoice.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        Invoice.objects.unscoped().filter(pk=invoice.pk).update(net=Decimal("1.00"))
    with pytest.raises(DatabaseError), transaction.atomic():
        Invoice.objects.unscoped().filter(pk=invoice.pk)._raw_delete(connection.alias)
    with pytest.raises(DatabaseError), transaction.atomic():
        InvoiceLine.objects.unscoped().filter(invoice=invoice).update(net=Decimal("1.00"))
    invoice.refresh_from_db()
    assert invoice.net == Decimal("99.90")


def test_it_corrects_an_invoice_with_a_credit_note(company):
    """R34: a credit note names the invoice and the reason and reverses the amounts."""
    contract = factories.ContractFactory(company=company)
    invoice = services.invoice_issue_for_period(contract=contract, period_start=D(2026, 2, 1))
    note = services.credit_note_issue(invoice=invoice, reason="Wrong plan")
    assert note.kind == Invoice.Kind.CREDIT_NOTE
    assert note.corrects_id == invoice.pk
    assert note.gross == -invoice.gross
    assert note.number != invoice.number


def test_it_changes_nothing_when_the_billing_run_repeats(company):
    """R32-R34: a second run on the same day, also on a renewal day, changes nothing."""
    contract = _active(company)
    assert services.billing_run(today=D(2026, 2, 1)) == 0
    assert services.billing_run(today=D(2027, 2, 1)) > 0  # renewal and the missing invoices
    count = Invoice.objects.for_company(company).count()
    assert count == 13
    assert services.billing_run(today=D(2027, 2, 1)) == 0
    assert Invoice.objects.for_company(company).count() == count
    contract.refresh_from_db()
    assert contract.current_period_start == D(2027, 2, 1)


def test_it_ends_the_company_with_its_last_contract(company):
    """R31: a terminated contract ends at its end and the company with it."""
    contract = _active(company)
    services.contract_terminate(contract=contract, requested_on=D(2026, 3, 1))
    services.billing_run(today=D(2027, 2, 1))
    contract.refresh_from_db()
    company.refresh_from_db()
    assert contract.status == Contract.Status.ENDED
    assert company.status == Company.Status.ENDED
    assert Invoice.objects.for_company(company).count() == 12


def test_it_shows_another_company_none_of_the_first_companys_billing(company, other_company):
    """TI-1: selectors are scoped by company; the other company sees and reaches nothing."""
    contract = _active(company)
    assert not selectors.contracts_for_company(company=other_company).exists()
    assert not selectors.invoices_for_company(company=other_company).exists()
    assert selectors.invoices_for_company(company=company).count() == 1
    with pytest.raises(Contract.DoesNotExist):
        selectors.contracts_for_company(company=other_company).get(pk=contract.pk)
    with tenant_scope(other_company):
        assert not Contract.objects.filter(pk=contract.pk).exists()
        assert Invoice.objects.filter(company=company).update(net=0) == 0
    assert Invoice.objects.for_company(company).get().net == Decimal("99.90")


def test_it_starts_early_when_the_first_order_comes_after_conclusion(company, shop):
    """R32: a first order inside the four weeks starts the contract on the next run."""
    contract = services.contract_conclude(
        company=company, plan=factories.PlanFactory(), concluded_on=D(2026, 1, 5)
    )
    shop.went_live_at = datetime.datetime(2026, 1, 12, 9, tzinfo=datetime.UTC)
    shop.save()
    services.billing_run(today=D(2026, 1, 12))
    contract.refresh_from_db()
    assert (contract.status, contract.starts_on) == (Contract.Status.ACTIVE, D(2026, 1, 12))
    assert Invoice.objects.for_company(company).get().period_start == D(2026, 1, 12)


def test_it_runs_from_the_management_command(company):
    """The ``run_billing`` command calls the same daily run as the beat task."""
    factories.ContractFactory(company=company, starts_on=timezone.localdate())
    call_command("run_billing", stdout=StringIO())
    call_command("run_billing", stdout=StringIO())
    assert Invoice.objects.for_company(company).count() == 1


def test_it_issues_a_credit_note_from_the_admin(client, company):
    """R34: staff correct an invoice with the admin action "Issue credit note" and a reason."""
    from tests.platform.test_admin import admin_login

    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    admin_login(client, staff)
    contract = factories.ContractFactory(company=company)
    invoice = services.invoice_issue_for_period(contract=contract, period_start=START)
    url = reverse("admin:billing_invoice_changelist")
    form = {"action": "issue_credit_note", ACTION_CHECKBOX_NAME: [invoice.pk]}

    asked = client.post(url, form)
    assert asked.status_code == 200
    assert "reason" in asked.content.decode()
    done = client.post(url, {**form, "reason": "Price agreed lower"})
    assert done.status_code == 302
    note = Invoice.objects.for_company(company).get(kind=Invoice.Kind.CREDIT_NOTE)
    assert (note.corrects_id, note.reason) == (invoice.pk, "Price agreed lower")


def test_it_issues_a_charge_once_per_key_with_the_buyers_vat(company):
    """R36/R37: fees, interest and overage are charge invoices; a repeated key issues nothing."""
    contract = factories.ContractFactory(company=company)
    lines = [("Returned direct debit fee", Decimal(1), Decimal("20.00"))]

    first = services.charge_invoice_issue(
        contract=contract, key="return-fee:1", lines=lines, issued_on=D(2026, 3, 2)
    )
    again = services.charge_invoice_issue(
        contract=contract, key="return-fee:1", lines=lines, issued_on=D(2026, 3, 3)
    )

    assert again.pk == first.pk
    assert first.kind == Invoice.Kind.CHARGE and first.charge_key == "return-fee:1"
    assert (first.net, first.vat, first.gross) == (
        Decimal("20.00"),
        Decimal("3.80"),
        Decimal("23.80"),
    )
    assert Invoice.objects.for_company(company).filter(kind=Invoice.Kind.CHARGE).count() == 1
