"""Staff tools (R35, R36, R39): approve bank transfer, record payments and returns, build the
pain.008 file, download it, confirm an extraordinary termination."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from lxml import etree

from billing.models import Contract, Invoice
from payments.dunning import payments_run
from payments.models import Collection, Payment, PaymentMethod, Prenotification, TerminationFlag
from payments.selectors import invoice_open_amount, payment_method
from payments.services import mandate_create
from tests import factories
from tests.payments.conftest import issue
from tests.platform.test_admin import admin_login

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def staff(client):
    user = factories.UserFactory(is_staff=True, is_superuser=True)
    admin_login(client, user)
    return user


def test_it_lets_staff_approve_payment_by_transfer(client, staff, company):
    """R35, 004 §14.2: another method than direct debit needs staff approval, recorded."""
    assert payment_method(company=company) == PaymentMethod.SEPA
    response = client.post(
        reverse("admin:payments_paymentsettings_add"),
        {"company": company.pk, "method": "transfer", "approval_note": "large customer"},
    )
    assert response.status_code == 302
    assert payment_method(company=company) == PaymentMethod.TRANSFER


def test_it_records_a_payment_and_a_return_with_its_fee(client, staff, company, contract):
    """R36: staff record money received and a returned debit; the return costs €20 once."""
    invoice = issue(contract, D(2025, 5, 20))
    url = reverse("admin:payments_payment_add")
    common = {"invoice": invoice.pk, "amount": "1190.00", "method": "sepa", "note": ""}

    paid = client.post(url, {**common, "kind": "payment", "received_on": "2025-05-22"})
    assert paid.status_code == 302
    assert invoice_open_amount(invoice=invoice) == Decimal("0.00")
    returned = client.post(
        url, {**common, "kind": "return", "received_on": "2025-05-27", "charge_fee": "on"}
    )
    assert returned.status_code == 302

    assert invoice_open_amount(invoice=invoice) == Decimal("1190.00")
    back = Payment.objects.for_company(company).get(kind=Payment.Kind.RETURN)
    assert back.recorded_by == staff
    fee = Invoice.objects.for_company(company).get(charge_key=f"return-fee:{back.pk}")
    assert fee.net == Decimal("20.00")


def test_it_builds_and_downloads_the_collection_file(client, staff, company, contract):
    """R35: the admin action builds the pain.008 file of the chosen debits for tomorrow."""
    mandate_create(
        company=company,
        account_holder="Alex Example",
        iban="DE89370400440532013000",
        signed_on=D(2025, 5, 1),
    )
    issue(contract, D(2025, 5, 20))
    payments_run(today=D(2025, 5, 20))
    notice = Prenotification.objects.for_company(company).get()
    url = reverse("admin:payments_prenotification_changelist")

    response = client.post(url, {"action": "build_collection", ACTION_CHECKBOX_NAME: [notice.pk]})

    assert response.status_code == 302
    collection = Collection.objects.get()
    assert collection.count == 1 and collection.total == Decimal("1190.00")
    download = client.get(reverse("admin:payments_collection_xml", args=[collection.pk]))
    assert download["Content-Type"] == "application/xml"
    assert etree.fromstring(download.content).tag.endswith("Document")


def test_it_terminates_a_flagged_contract_when_staff_confirm(client, staff, company, contract):
    """R39: staff confirm the flag; the contract ends for good cause."""
    issue(contract, D(2025, 5, 20))
    payments_run(today=D(2025, 7, 20))
    flag = TerminationFlag.objects.for_company(company).get()
    url = reverse("admin:payments_terminationflag_changelist")

    response = client.post(url, {"action": "confirm_termination", ACTION_CHECKBOX_NAME: [flag.pk]})

    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.terminated_on is not None and flag.terminated_by == staff
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ENDED
