"""Billing emails: every issued invoice goes to the owners with its PDF, once (R34)."""

from __future__ import annotations

import datetime

import facturx
import pytest
from django.core import mail

from billing import services, tasks
from billing.models import Invoice
from companies.models import Role
from tests import factories

pytestmark = pytest.mark.django_db
D = datetime.date


def test_it_emails_each_issued_invoice_to_the_owners_with_the_pdf(
    company, owner, eager, django_capture_on_commit_callbacks
):
    """R34: after commit the owners (not managers or viewers) get the invoice PDF with its
    e-invoice attached; a repeated task sends nothing."""
    factories.MembershipFactory(company=company, role=Role.MANAGER)
    second_owner = factories.MembershipFactory(company=company, role=Role.OWNER).user
    factories.ContractFactory(company=company)
    with django_capture_on_commit_callbacks(execute=True):
        services.billing_run(today=D(2026, 2, 1))
    invoice = Invoice.objects.for_company(company).get()
    (message,) = mail.outbox
    assert sorted(message.to) == sorted([owner.email, second_owner.email])
    assert invoice.number in message.subject and "118.88" in message.body
    ((filename, pdf, mimetype),) = message.attachments
    assert (filename, mimetype) == (f"invoice-{invoice.number}.pdf", "application/pdf")
    assert invoice.number.encode() in facturx.get_xml_from_pdf(pdf, check_xsd=True)[1]

    assert tasks.send_invoice_email(invoice.pk) == "already"
    assert len(mail.outbox) == 1


def test_it_names_the_corrected_invoice_in_a_credit_note_email(
    company, owner, eager, django_capture_on_commit_callbacks
):
    """R34: a credit note is emailed too, naming the invoice it corrects."""
    contract = factories.ContractFactory(company=company)
    invoice = services.invoice_issue_for_period(contract=contract, period_start=D(2026, 2, 1))
    with django_capture_on_commit_callbacks(execute=True):
        note = services.credit_note_issue(invoice=invoice, reason="Wrong plan")
    (message,) = mail.outbox
    assert f"Credit note {note.number}" in message.subject
    assert invoice.number in message.body
    assert message.attachments[0][0] == f"credit-note-{note.number}.pdf"


def test_it_sends_nothing_to_a_company_without_owners(company, other_company):
    """R34: without an owner there is nobody to tell; the invoice stays in the backend."""
    contract = factories.ContractFactory(company=company)
    factories.MembershipFactory(company=other_company, role=Role.OWNER)
    invoice = services.invoice_issue_for_period(contract=contract, period_start=D(2026, 2, 1))
    assert tasks.send_invoice_email(invoice.pk) == "skipped"
    assert mail.outbox == []
