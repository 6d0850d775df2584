"""The EN 16931 e-invoice of an invoice, as UN/CEFACT CII XML (Factur-X profile EN16931).

One VAT category per invoice, from the invoice's treatment: S (German VAT, 19 %), AE (reverse
charge, with the legal note) or O (not subject to German VAT: a buyer outside the EU). Credit
notes are type 381 with positive amounts, as CII expects; invoices and charges are type 380.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from lxml import etree

from billing.models import Invoice, InvoiceLine

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
CATEGORY = {
    Invoice.VatTreatment.DE_VAT: ("S", "", ""),
    Invoice.VatTreatment.REVERSE_CHARGE: ("AE", "Reverse charge", "VATEX-EU-AE"),
    Invoice.VatTreatment.NO_VAT: ("O", "Not subject to VAT", "VATEX-EU-O"),
    Invoice.VatTreatment.DAMAGES: (
        "O",
        "Damages and default interest, not subject to VAT",
        "VATEX-EU-O",
    ),
}
TYPE_CODE = {Invoice.Kind.CREDIT_NOTE: "381"}  # otherwise 380, a commercial invoice


def _el(parent, tag: str, text=None, **attrs):
    prefix, name = tag.split(":")
    element = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", **attrs)
    if text is not None:
        element.text = str(text)
    return element


def _date(parent, tag: str, day, prefix: str = "udt") -> None:
    _el(_el(parent, tag), f"{prefix}:DateTimeString", f"{day:%Y%m%d}", format="102")


def _amount(value: Decimal, sign: int) -> str:
    return f"{value * sign:.2f}"


def _address(parent, *, street: str, postcode: str, city: str, country: str) -> None:
    address = _el(parent, "ram:PostalTradeAddress")
    if postcode:
        _el(address, "ram:PostcodeCode", postcode)
    if street:
        _el(address, "ram:LineOne", street)
    if city:
        _el(address, "ram:CityName", city)
    _el(address, "ram:CountryID", country)


def buyer_address_parts(invoice: Invoice) -> dict:
    """The invoice's snapshot "street / postcode city / country" back into its parts."""
    lines = [line.strip() for line in invoice.buyer_address.splitlines() if line.strip()]
    country = lines.pop() if lines and len(lines[-1]) == 2 else "DE"
    place = lines.pop() if lines else ""
    postcode, _, city = place.partition(" ") if place[:1].isdigit() else ("", "", place)
    return {"street": ", ".join(lines), "postcode": postcode, "city": city, "country": country}


def _parties(agreement, invoice: Invoice, category: str) -> None:
    seller = _el(agreement, "ram:SellerTradeParty")
    _el(seller, "ram:Name", settings.BILLING_SELLER_NAME)
    legal = _el(seller, "ram:SpecifiedLegalOrganization")
    _el(legal, "ram:ID", settings.BILLING_SELLER_REGISTRATION)
    _address(
        seller,
        street=settings.BILLING_SELLER_STREET,
        postcode=settings.BILLING_SELLER_POSTCODE,
        city=settings.BILLING_SELLER_CITY,
        country=settings.BILLING_SELLER_COUNTRY,
    )
    mail = _el(seller, "ram:URIUniversalCommunication")
    _el(mail, "ram:URIID", settings.BILLING_SELLER_EMAIL, schemeID="EM")
    if category != "O":  # BR-O-02: no VAT identifiers on a "not subject to VAT" invoice
        tax = _el(seller, "ram:SpecifiedTaxRegistration")
        _el(tax, "ram:ID", settings.BILLING_SELLER_VAT_ID, schemeID="VA")
    buyer = _el(agreement, "ram:BuyerTradeParty")
    _el(buyer, "ram:Name", invoice.buyer_name)
    _address(buyer, **buyer_address_parts(invoice))
    if invoice.buyer_vat_id and category != "O":
        tax = _el(buyer, "ram:SpecifiedTaxRegistration")
        _el(tax, "ram:ID", invoice.buyer_vat_id, schemeID="VA")


def _tax(parent, invoice: Invoice, basis: Decimal, vat: Decimal, sign: int, *, header: bool):
    category, reason, reason_code = CATEGORY[invoice.vat_treatment]
    tax = _el(parent, "ram:ApplicableTradeTax")
    if header:
        _el(tax, "ram:CalculatedAmount", _amount(vat, sign))
    _el(tax, "ram:TypeCode", "VAT")
    if header and reason:
        _el(tax, "ram:ExemptionReason", invoice.legal_note or reason)
    if header:
        _el(tax, "ram:BasisAmount", _amount(basis, sign))
    _el(tax, "ram:CategoryCode", category)
    if header and reason_code:
        _el(tax, "ram:ExemptionReasonCode", reason_code)
    if category != "O":
        _el(tax, "ram:RateApplicablePercent", f"{invoice.vat_rate:.2f}")


def _line(transaction, invoice: Invoice, line: InvoiceLine, number: int, sign: int) -> None:
    item = _el(transaction, "ram:IncludedSupplyChainTradeLineItem")
    _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", number)
    _el(_el(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.description)
    price = _el(_el(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
    _el(price, "ram:ChargeAmount", f"{line.unit_price * sign:.4f}")
    delivery = _el(item, "ram:SpecifiedLineTradeDelivery")
    _el(delivery, "ram:BilledQuantity", f"{line.quantity:.2f}", unitCode="C62")
    settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
    _tax(settlement, invoice, line.net, Decimal(0), sign, header=False)
    total = _el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
    _el(total, "ram:LineTotalAmount", _amount(line.net, sign))


def _settlement(transaction, invoice: Invoice, sign: int) -> None:
    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    _el(settlement, "ram:PaymentReference", invoice.number)
    _el(settlement, "ram:InvoiceCurrencyCode", "EUR")
    means = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    _el(means, "ram:TypeCode", "58")  # SEPA credit transfer; direct debits name the invoice
    account = _el(means, "ram:PayeePartyCreditorFinancialAccount")
    _el(account, "ram:IBANID", settings.BILLING_SELLER_IBAN.replace(" ", ""))
    _tax(settlement, invoice, invoice.net, invoice.vat, sign, header=True)
    period = _el(settlement, "ram:BillingSpecifiedPeriod")
    _date(period, "ram:StartDateTime", invoice.period_start)
    _date(period, "ram:EndDateTime", invoice.period_end)
    terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
    _el(terms, "ram:Description", "Due immediately (004 §14.1)")
    _date(terms, "ram:DueDateDateTime", invoice.issued_on)
    totals = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(totals, "ram:LineTotalAmount", _amount(invoice.net, sign))
    _el(totals, "ram:TaxBasisTotalAmount", _amount(invoice.net, sign))
    _el(totals, "ram:TaxTotalAmount", _amount(invoice.vat, sign), currencyID="EUR")
    _el(totals, "ram:GrandTotalAmount", _amount(invoice.gross, sign))
    _el(totals, "ram:DuePayableAmount", _amount(invoice.gross, sign))
    if invoice.corrects_id:
        referenced = _el(settlement, "ram:InvoiceReferencedDocument")
        _el(referenced, "ram:IssuerAssignedID", invoice.corrects.number)
        _date(referenced, "ram:FormattedIssueDateTime", invoice.corrects.issued_on, "qdt")


def invoice_xml(invoice: Invoice, lines: list[InvoiceLine]) -> bytes:
    """The CII XML of ``invoice``; credit notes carry their (negative) amounts as positive."""
    sign = -1 if invoice.kind == Invoice.Kind.CREDIT_NOTE else 1
    root = etree.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice", nsmap=NS)
    context = _el(root, "rsm:ExchangedDocumentContext")
    guideline = _el(context, "ram:GuidelineSpecifiedDocumentContextParameter")
    _el(guideline, "ram:ID", "urn:cen.eu:en16931:2017")
    document = _el(root, "rsm:ExchangedDocument")
    _el(document, "ram:ID", invoice.number)
    _el(document, "ram:TypeCode", TYPE_CODE.get(invoice.kind, "380"))
    _date(document, "ram:IssueDateTime", invoice.issued_on)
    for text in (invoice.legal_note, invoice.reason):
        if text:
            _el(_el(document, "ram:IncludedNote"), "ram:Content", text)
    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for number, line in enumerate(lines, start=1):
        _line(transaction, invoice, line, number, sign)
    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    _el(agreement, "ram:BuyerReference", f"C{invoice.company_id}")
    _parties(agreement, invoice, CATEGORY[invoice.vat_treatment][0])
    _el(transaction, "ram:ApplicableHeaderTradeDelivery")
    _settlement(transaction, invoice, sign)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
