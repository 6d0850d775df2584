"""The invoice PDF (reportlab) with its EN 16931 e-invoice embedded (Factur-X, R34).

Decision: rendered once, on first need (the invoice email or the first download), and stored in
``InvoiceDocument``; every later download returns those bytes. Invoices are immutable, but the
factur-x library stamps the render time into the PDF metadata and the seller's settings may
change, so only a stored copy keeps one invoice one document (GoBD).
"""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal

import facturx
from django.conf import settings
from django.db import IntegrityError, transaction
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from billing.einvoice import invoice_xml
from billing.models import Invoice, InvoiceDocument, InvoiceLine

TITLES = {
    Invoice.Kind.INVOICE: "Invoice",
    Invoice.Kind.CHARGE: "Invoice",
    Invoice.Kind.CREDIT_NOTE: "Credit note",
}
LEFT, RIGHT = 20 * mm, A4[0] - 20 * mm


def _euro(amount: Decimal) -> str:
    return f"{amount:,.2f} EUR".replace(",", "\u2009")


class _Page:
    """A top-down writer on a reportlab canvas that starts a new page when one is full."""

    def __init__(self, pdf: canvas.Canvas):
        self.pdf, self.y = pdf, A4[1] - 20 * mm

    def text(self, value: str, *, size: int = 10, bold: bool = False, x: float = LEFT) -> None:
        if self.y < 25 * mm:
            self.pdf.showPage()
            self.y = A4[1] - 20 * mm
        self.pdf.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        self.pdf.drawString(x, self.y, value)

    def right(self, value: str, *, bold: bool = False) -> None:
        self.pdf.setFont("Helvetica-Bold" if bold else "Helvetica", 10)
        self.pdf.drawRightString(RIGHT, self.y, value)

    def down(self, lines: float = 1) -> None:
        self.y -= 5 * mm * lines


def _header(page: _Page, invoice: Invoice) -> None:
    seller = (
        f"{settings.BILLING_SELLER_NAME} · {settings.BILLING_SELLER_STREET} · "
        f"{settings.BILLING_SELLER_POSTCODE} {settings.BILLING_SELLER_CITY}"
    )
    page.text(seller, size=8)
    page.down(2)
    for line in [invoice.buyer_name, *invoice.buyer_address.splitlines()]:
        page.text(line)
        page.down()
    if invoice.buyer_vat_id:
        page.text(f"VAT ID: {invoice.buyer_vat_id}")
        page.down()
    page.down(2)
    page.text(f"{TITLES[invoice.kind]} {invoice.number}", size=14, bold=True)
    page.down(1.5)
    page.text(f"Date: {invoice.issued_on:%d.%m.%Y}")
    page.text(
        f"Period: {invoice.period_start:%d.%m.%Y} - {invoice.period_end:%d.%m.%Y}", x=LEFT + 60 * mm
    )
    page.down()
    if invoice.corrects_id:
        page.text(
            f"Corrects invoice {invoice.corrects.number} of {invoice.corrects.issued_on:%d.%m.%Y}"
        )
        page.down()
    page.down()


def _lines(page: _Page, lines: list[InvoiceLine]) -> None:
    page.text("Description", bold=True)
    page.text("Qty", bold=True, x=LEFT + 110 * mm)
    page.right("Net", bold=True)
    page.down()
    for line in lines:
        page.text(line.description[:80], size=9)
        page.text(f"{line.quantity:.2f} × {line.unit_price:.4f}", size=9, x=LEFT + 110 * mm)
        page.right(_euro(line.net))
        page.down()
    page.down()


def _totals(page: _Page, invoice: Invoice) -> None:
    page.text("Net total")
    page.right(_euro(invoice.net))
    page.down()
    page.text(f"VAT {invoice.vat_rate:.2f} % ({invoice.get_vat_treatment_display()})")
    page.right(_euro(invoice.vat))
    page.down()
    page.text("Total", bold=True)
    page.right(_euro(invoice.gross), bold=True)
    page.down(2)
    for note in (invoice.legal_note, invoice.reason):
        if note:
            page.text(note[:110], size=9)
            page.down()
    page.text("Due immediately (004 §14.1).", size=9)
    page.down()


def _footer(page: _Page) -> None:
    page.down()
    footer = (
        f"{settings.BILLING_SELLER_NAME} · VAT ID {settings.BILLING_SELLER_VAT_ID} · "
        f"{settings.BILLING_SELLER_REGISTRATION} · IBAN {settings.BILLING_SELLER_IBAN} · "
        f"{settings.BILLING_SELLER_EMAIL}"
    )
    page.text(footer, size=7)


def invoice_pdf_render(invoice: Invoice) -> bytes:
    """A fresh PDF/A-3 of ``invoice`` with ``factur-x.xml`` attached (profile EN16931)."""
    lines = list(InvoiceLine.objects.for_company(invoice.company_id).filter(invoice=invoice))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1, pdfVersion=(1, 7))
    pdf.setTitle(f"{TITLES[invoice.kind]} {invoice.number}")
    pdf.setAuthor(settings.BILLING_SELLER_NAME)
    page = _Page(pdf)
    _header(page, invoice)
    _lines(page, lines)
    _totals(page, invoice)
    _footer(page)
    pdf.showPage()
    pdf.save()
    return facturx.generate_from_binary(
        buffer.getvalue(),
        invoice_xml(invoice, lines),
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        pdf_metadata={
            "author": settings.BILLING_SELLER_NAME,
            "keywords": "Factur-X, EN 16931",
            "title": f"{TITLES[invoice.kind]} {invoice.number}",
            "subject": f"{TITLES[invoice.kind]} {invoice.number} of {invoice.issued_on}",
        },
        lang="en",
    )


def invoice_pdf(invoice: Invoice) -> bytes:
    """The stored PDF of ``invoice``, rendered and stored on first use."""
    stored = InvoiceDocument.objects.for_company(invoice.company_id).filter(invoice=invoice)
    existing = stored.values_list("pdf", flat=True).first()
    if existing is not None:
        return bytes(existing)
    pdf = invoice_pdf_render(invoice)
    try:
        with transaction.atomic():
            InvoiceDocument.objects.for_company(invoice.company_id).create(
                company_id=invoice.company_id,
                invoice=invoice,
                pdf=pdf,
                sha256=hashlib.sha256(pdf).hexdigest(),
            )
    except IntegrityError:  # rendered concurrently: the first stored copy wins
        return bytes(stored.values_list("pdf", flat=True).get())
    return pdf


def invoice_filename(invoice: Invoice) -> str:
    return f"{TITLES[invoice.kind].lower().replace(' ', '-')}-{invoice.number}.pdf"
