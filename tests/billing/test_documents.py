"""The invoice PDF with its embedded EN 16931 e-invoice (R34, 001 §5.5)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import facturx
import pytest
from lxml import etree

from billing import documents, services
from billing.models import Invoice, InvoiceDocument
from tests import factories

pytestmark = pytest.mark.django_db
D = datetime.date
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


def _xml(invoice: Invoice) -> etree._Element:
    pdf = documents.invoice_pdf(invoice)
    _name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    return etree.fromstring(xml)


def _text(root, path: str) -> list[str]:
    return [element.text for element in root.xpath(path, namespaces=NS)]


def _invoice(country="DE", vat_id="DE123456789", **company):
    company = factories.CompanyFactory(
        name="ACME-A Trading",
        street="Hauptstr. 1",
        postal_code="10115",
        city="Berlin",
        country=country,
        vat_id=vat_id,
        **company,
    )
    contract = factories.ContractFactory(company=company)
    return services.invoice_issue_for_period(
        contract=contract, period_start=D(2026, 2, 1), issued_on=D(2026, 2, 1)
    )


@pytest.mark.parametrize(
    ("country", "vat_id", "category", "rate", "tax", "exemption"),
    [
        ("DE", "DE123456789", "S", ["19.00", "19.00"], "18.98", []),
        ("AT", "ATU12345678", "AE", ["0.00", "0.00"], "0.00", ["VATEX-EU-AE"]),
        ("CH", "CHE-123.456.789", "O", [], "0.00", ["VATEX-EU-O"]),
    ],
)
def test_it_embeds_an_en16931_invoice_with_the_vat_category_of_the_buyer(
    settings, country, vat_id, category, rate, tax, exemption
):
    """R34: the PDF carries factur-x.xml (EN16931, XSD-valid) with S, AE or O and exact sums."""
    invoice = _invoice(country, vat_id)
    root = _xml(invoice)
    assert _text(root, "//rsm:ExchangedDocument/ram:ID") == [invoice.number]
    assert _text(root, "//rsm:ExchangedDocument/ram:TypeCode") == ["380"]
    assert _text(root, "//ram:ApplicableTradeTax/ram:CategoryCode") == [category, category]
    assert _text(root, "//ram:ApplicableTradeTax/ram:RateApplicablePercent") == rate
    assert _text(root, "//ram:ApplicableTradeTax/ram:ExemptionReasonCode") == exemption
    assert _text(root, "//ram:TaxTotalAmount") == [tax]
    assert _text(root, "//ram:LineTotalAmount") == ["99.90", "99.90"]
    assert _text(root, "//ram:GrandTotalAmount") == [f"{invoice.gross:.2f}"]
    assert _text(root, "//ram:SellerTradeParty/ram:Name") == [settings.BILLING_SELLER_NAME]
    assert _text(root, "//ram:IBANID") == [settings.BILLING_SELLER_IBAN]
    assert _text(root, "//ram:BuyerTradeParty/ram:PostalTradeAddress/ram:CountryID") == [country]
    buyer_vat = _text(root, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID")
    assert buyer_vat == ([] if category == "O" else [vat_id])


def test_it_notes_the_reverse_charge_in_the_e_invoice():
    """R34: an EU business with a VAT ID gets the reverse charge note, no German VAT."""
    root = _xml(_invoice("FR", "FR12345678901"))
    assert services.REVERSE_CHARGE_NOTE in _text(root, "//ram:IncludedNote/ram:Content")
    assert _text(root, "//ram:ExemptionReason") == [services.REVERSE_CHARGE_NOTE]


def test_it_types_a_credit_note_381_with_positive_amounts_and_the_invoice_it_corrects():
    """R34: a credit note is type 381, references the corrected invoice, amounts positive."""
    invoice = _invoice()
    note = services.credit_note_issue(invoice=invoice, reason="Wrong plan", issued_on=D(2026, 2, 3))
    root = _xml(note)
    assert _text(root, "//rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    assert _text(root, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == [invoice.number]
    assert _text(root, "//ram:GrandTotalAmount") == ["118.88"]
    assert note.gross == Decimal("-118.88")


def test_it_types_a_charge_380_with_every_line():
    """R36/R37: a charge invoice is an ordinary invoice (380) with its lines, to the cent."""
    contract = factories.ContractFactory()
    charge = services.charge_invoice_issue(
        contract=contract,
        key="overage:test",
        lines=[
            ("Invitations beyond the included", Decimal(7), Decimal("0.1250")),
            ("Returned direct debit fee", Decimal(1), Decimal("20.00")),
        ],
        issued_on=D(2026, 3, 1),
    )
    root = _xml(charge)
    assert _text(root, "//rsm:ExchangedDocument/ram:TypeCode") == ["380"]
    assert _text(
        root, "//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
    ) == [
        "0.88",
        "20.00",
    ]
    assert _text(root, "//ram:TaxBasisTotalAmount") == ["20.88"]
    assert _text(root, "//ram:TaxTotalAmount") == ["3.97"]
    assert _text(root, "//ram:DuePayableAmount") == ["24.85"]


def test_it_stores_the_pdf_once_and_returns_the_same_bytes(settings):
    """R34: an invoice is one document: later downloads return the stored bytes even when
    the seller's settings change."""
    invoice = _invoice()
    first = documents.invoice_pdf(invoice)
    settings.BILLING_SELLER_NAME = "Renamed GmbH"
    again = documents.invoice_pdf(invoice)
    assert first == again and first.startswith(b"%PDF")
    assert InvoiceDocument.objects.for_company(invoice.company_id).count() == 1
    assert b"Renamed GmbH" not in facturx.get_xml_from_pdf(again, check_xsd=False)[1]


def test_it_marks_damages_as_not_subject_to_vat_in_the_e_invoice(company):
    """R36: a late-payment fee is damages: 0 % VAT, category O with its reason, valid EN 16931."""
    contract = factories.ContractFactory(company=company)
    fee = services.charge_invoice_issue(
        contract=contract,
        key="dunning-fee:test",
        lines=[("Late payment flat fee", Decimal(1), Decimal("40.00"))],
        issued_on=datetime.date(2026, 3, 2),
        damages=True,
    )

    root = _xml(fee)  # read back from the PDF and checked against the EN 16931 schema

    assert (fee.vat, fee.gross) == (Decimal("0.00"), Decimal("40.00"))
    assert set(_text(root, "//ram:ApplicableTradeTax/ram:CategoryCode")) == {"O"}
    assert "not subject to VAT" in " ".join(_text(root, "//ram:ExemptionReason"))
