"""SEPA direct debit (R35, R36): mandates, one day's pre-notification, pain.008 files that
collect each invoice once, returned debits with their €20 fee."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from lxml import etree

from billing.models import Invoice, InvoiceLine
from payments.collections import collection_build
from payments.dunning import payments_run
from payments.models import (
    CollectionItem,
    Mandate,
    Payment,
    PaymentMethod,
    Prenotification,
    Reminder,
)
from payments.selectors import invoice_open_amount
from payments.services import (
    mandate_create,
    mandate_revoke,
    payment_method_approve,
    payment_return_record,
)
from tests import factories
from tests.payments.conftest import issue

pytestmark = pytest.mark.django_db
D = datetime.date
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
CREDITOR_ID = ".//p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id"
SIGNED_ON = D(2025, 5, 1)
IBAN_A = "DE89 3704 0044 0532 0130 00"
IBAN_B = "DE02120300000000202051"


def _line(invoice) -> str:
    return InvoiceLine.objects.for_company(invoice.company_id).get(invoice=invoice).description


def _mandate(company, iban=IBAN_A, signed_on=SIGNED_ON):
    return mandate_create(
        company=company, account_holder="Alex Example", iban=iban, signed_on=signed_on
    )


def test_it_checks_the_iban_and_derives_the_bic(company):
    """R35: the IBAN is validated (schwifty), stored compact, the BIC derived from it."""
    mandate = _mandate(company)
    assert mandate.iban == "DE89370400440532013000" and mandate.bic == "COBADEFFXXX"
    assert mandate.iban_masked == "DE89 •••• 3000"
    with pytest.raises(ValidationError) as error:
        _mandate(company, iban="DE89370400440532013001")
    assert "iban" in error.value.message_dict


def test_it_generates_unique_sepa_valid_references_and_replaces_the_active_mandate(company):
    """R35: a new mandate revokes the old one; references are unique, ≤ 35, SEPA charset."""
    first = _mandate(company)
    second = _mandate(company, iban=IBAN_B, signed_on=D(2025, 6, 1))
    first.refresh_from_db()
    assert first.status == Mandate.Status.REVOKED and first.revoked_on == D(2025, 6, 1)
    assert second.status == Mandate.Status.ACTIVE
    for reference in (first.reference, second.reference):
        assert len(reference) <= 35
        assert set(reference) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
    assert first.reference != second.reference


def test_it_prenotifies_at_least_one_day_before_the_collection(company, owner, contract):
    """R35, 004 §14.4: the pre-notification goes out once, one day before the debit date."""
    _mandate(company)
    invoice = issue(contract, D(2025, 5, 20))
    payments_run(today=D(2025, 5, 20))
    payments_run(today=D(2025, 5, 20))

    notice = Prenotification.objects.for_company(company).get(invoice=invoice)
    assert notice.notified_on == D(2025, 5, 20)
    assert notice.collection_date == D(2025, 5, 21)
    assert notice.amount == Decimal("1190.00")
    (message,) = mail.outbox
    assert message.to == [owner.email] and invoice.number in message.subject
    assert "21/05/2025" in message.subject and "1190.00" in message.body
    assert notice.mandate.reference in message.body and "DE98ZZZ09999999999" in message.body
    assert "0532013000" not in message.body  # the IBAN is masked

    # Nothing is collected before the date it announced.
    assert collection_build(collection_date=D(2025, 5, 20)) is None
    assert collection_build(collection_date=D(2025, 5, 21)).count == 1
    # A debit under way is not late: no reminder while it is pre-notified and uncollected.
    assert not Reminder.objects.for_company(company).exists()


def test_it_does_not_prenotify_a_company_that_pays_by_transfer(company, owner, contract):
    """R35: staff approved bank transfer: no debit, the invoice is dunned when late."""
    _mandate(company)
    payment_method_approve(
        company=company, method=PaymentMethod.TRANSFER, approved_by=factories.UserFactory()
    )
    issue(contract, D(2025, 5, 20))
    payments_run(today=D(2025, 5, 20))
    assert not Prenotification.objects.for_company(company).exists()
    payments_run(today=D(2025, 5, 27))
    assert Reminder.objects.for_company(company).count() == 1


def _prenotified(company, contract, other_company, other_contract):
    mine = _mandate(company)
    issue(contract, D(2025, 5, 20))
    issue(contract, D(2025, 6, 20))
    theirs = _mandate(other_company, iban=IBAN_B)
    issue(other_contract, D(2025, 6, 20))
    payments_run(today=D(2025, 5, 20))
    first = collection_build(collection_date=D(2025, 5, 22))
    payments_run(today=D(2025, 6, 20))
    return mine, theirs, first


def test_it_builds_a_pain008_file_that_parses_back(
    company, contract, other_company, other_contract
):
    """R35: the file carries amounts, mandate ids, IBANs, FRST/RCUR, control sum and count;
    each invoice is collected once and counts as paid on the collection date."""
    mine, theirs, first = _prenotified(company, contract, other_company, other_contract)
    assert first.count == 1 and first.total == Decimal("1190.00")

    second = collection_build(collection_date=D(2025, 6, 23))
    root = etree.fromstring(second.xml.encode())
    header = root.find("p:CstmrDrctDbtInitn/p:GrpHdr", NS)
    assert header.findtext("p:NbOfTxs", namespaces=NS) == "2"
    assert header.findtext("p:CtrlSum", namespaces=NS) == "1785.00"
    debits = {}
    for batch in root.iterfind(".//p:PmtInf", NS):
        sequence = batch.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS)
        assert batch.findtext("p:ReqdColltnDt", namespaces=NS) == "2025-06-23"
        assert batch.findtext(CREDITOR_ID, namespaces=NS) == "DE98ZZZ09999999999"
        for tx in batch.iterfind("p:DrctDbtTxInf", NS):
            mandate_id = tx.findtext(".//p:MndtId", namespaces=NS)
            debits[mandate_id] = (
                sequence,
                tx.findtext("p:InstdAmt", namespaces=NS),
                tx.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS),
            )
    assert debits == {
        mine.reference: ("RCUR", "1190.00", "DE89370400440532013000"),
        theirs.reference: ("FRST", "595.00", "DE02120300000000202051"),
    }
    assert collection_build(collection_date=D(2025, 6, 30)) is None  # never twice
    assert CollectionItem.objects.unscoped().count() == 3
    paid = Invoice.objects.for_company(company).order_by("issued_on").last()
    assert invoice_open_amount(invoice=paid) == Decimal("0.00")
    assert Payment.objects.for_company(company).filter(invoice=paid).get().received_on == D(
        2025, 6, 23
    )


def test_it_skips_debits_whose_mandate_was_revoked(company, contract):
    """R35: a revoked mandate is not used, even for a debit already pre-notified."""
    mandate = _mandate(company)
    issue(contract, D(2025, 5, 20))
    payments_run(today=D(2025, 5, 20))
    mandate_revoke(mandate=mandate, today=D(2025, 5, 21))
    assert collection_build(collection_date=D(2025, 5, 22)) is None


def test_it_charges_20_euros_for_a_returned_debit_once(company, owner, contract):
    """R36, 004 §14.5: a return reopens the invoice and costs a €20 fee, charged once; the
    reopened invoice is then dunned."""
    _mandate(company)
    invoice = issue(contract, D(2025, 5, 20))
    payments_run(today=D(2025, 5, 20))
    collection_build(collection_date=D(2025, 5, 21))
    assert invoice_open_amount(invoice=invoice) == Decimal("0.00")

    returned = payment_return_record(
        invoice=invoice, amount=Decimal("1190.00"), returned_on=D(2025, 5, 26)
    )

    assert invoice_open_amount(invoice=invoice) == Decimal("1190.00")
    fee = Invoice.objects.for_company(company).get(charge_key=f"return-fee:{returned.pk}")
    assert fee.kind == Invoice.Kind.CHARGE and fee.net == Decimal("20.00")
    assert fee.gross == Decimal("20.00") and fee.vat_treatment == "damages"  # R36: no VAT
    assert fee.issued_on == D(2025, 5, 26) and invoice.number in _line(fee)
    payments_run(today=D(2025, 5, 27))
    assert Reminder.objects.for_company(company).get().invoice_id == invoice.pk
    # The fee itself is debited like any charge, but never reminded or charged interest on.
    assert Prenotification.objects.for_company(company).filter(invoice=fee).exists()


def test_it_builds_a_collection_from_the_command(company, contract, tmp_path):
    """R35: operators build the file with ``manage.py build_collection``."""
    _mandate(company)
    issue(contract, D(2025, 5, 20))
    payments_run(today=D(2025, 5, 20))
    out, target = StringIO(), tmp_path / "debits.xml"
    call_command("build_collection", "--date", "2025-05-22", "--output", str(target), stdout=out)
    assert "1 debits, 1190.00 EUR" in out.getvalue()
    assert etree.parse(str(target)).getroot().tag.endswith("Document")
