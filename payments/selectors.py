"""Read-only payment queries: due dates, open balances, default interest (R35, R36, R39)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import Invoice
from companies.models import Company
from payments.models import BaseRate, Mandate, Payment, PaymentMethod, PaymentSettings

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DAYS_PER_YEAR = 365  # act/365: every calendar day counts, a year is 365 days (also in leap years)


def invoice_due_on(invoice: Invoice) -> datetime.date:
    """004 §14.1: due immediately after invoicing (``PAYMENTS_DUE_DAYS`` after the issue date)."""
    return invoice.issued_on + datetime.timedelta(days=settings.PAYMENTS_DUE_DAYS)


def mandates_for_company(*, company: Company | int) -> QuerySet[Mandate]:
    return Mandate.objects.for_company(company).order_by("-signed_on", "-id")


def payment_method(*, company: Company | int) -> str:
    """R35: SEPA direct debit unless staff approved another method."""
    chosen = PaymentSettings.objects.for_company(company).first()
    if chosen is None or chosen.approved_at is None:
        return PaymentMethod.SEPA
    return chosen.method


def _sum(queryset: QuerySet, group: str, field: str) -> Coalesce:
    total = queryset.order_by().values(group).annotate(total=Sum(field))
    return Coalesce(
        Subquery(total.values("total")[:1]),
        Value(ZERO),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )


def with_open_amount(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Annotate ``open_amount`` = gross - payments + returns + credit notes (which are negative).

    Deliberately unscoped inner queries: each is tied to its invoice's own row (and company)."""
    paid = Payment.objects.unscoped().filter(invoice_id=OuterRef("pk"), company=OuterRef("company"))
    credits = Invoice.objects.unscoped().filter(
        corrects_id=OuterRef("pk"), kind=Invoice.Kind.CREDIT_NOTE
    )
    return invoices.annotate(
        paid=_sum(paid.filter(kind=Payment.Kind.PAYMENT), "invoice_id", "amount"),
        returned=_sum(paid.filter(kind=Payment.Kind.RETURN), "invoice_id", "amount"),
        credited=_sum(credits, "corrects_id", "gross"),
    ).annotate(open_amount=F("gross") - F("paid") + F("returned") + F("credited"))


def invoice_open_amount(*, invoice: Invoice, on: datetime.date | None = None) -> Decimal:
    """The open balance of ``invoice`` at the end of day ``on`` (today's balance without it)."""
    return _open_on(invoice, _movements(invoice), on or datetime.date.max)


def _movements(invoice: Invoice) -> list[tuple[datetime.date, Decimal]]:
    """Signed changes of the open balance, by date: payments lower it, returns raise it."""
    rows = [
        (p.received_on, -p.amount if p.kind == Payment.Kind.PAYMENT else p.amount)
        for p in Payment.objects.for_company(invoice.company_id).filter(invoice=invoice)
    ]
    rows += [
        (note.issued_on, note.gross)
        for note in Invoice.objects.for_company(invoice.company_id).filter(
            corrects=invoice, kind=Invoice.Kind.CREDIT_NOTE
        )
    ]
    return sorted(rows)


def _open_on(invoice: Invoice, movements, day: datetime.date) -> Decimal:
    return invoice.gross + sum((amount for when, amount in movements if when <= day), ZERO)


def base_rates() -> list[tuple[datetime.date, Decimal]]:
    return list(BaseRate.objects.order_by("valid_from").values_list("valid_from", "rate"))


def _rate_on(rates: list[tuple[datetime.date, Decimal]], day: datetime.date) -> Decimal:
    current = None
    for valid_from, rate in rates:
        if valid_from > day:
            break
        current = rate
    if current is None:
        raise LookupError(f"no base rate for {day}: add one in the admin")
    return current


def _days(start: datetime.date, end: datetime.date) -> Iterable[datetime.date]:
    for offset in range((end - start).days + 1):
        yield start + datetime.timedelta(days=offset)


def default_interest(*, invoice: Invoice, start: datetime.date, end: datetime.date) -> Decimal:
    """R36, § 288 (2) BGB: interest for the days ``start``..``end`` (inclusive) on each day's open
    balance, at the base rate valid that day plus ``PAYMENTS_INTEREST_POINTS``.

    Per day: open × (base + points) / 100 / 365 (act/365). The days are summed exactly and the
    sum is rounded to the cent once, half up."""
    if end < start:
        return ZERO
    rates, movements = base_rates(), _movements(invoice)
    points = Decimal(settings.PAYMENTS_INTEREST_POINTS)
    total = Decimal(0)
    for day in _days(start, end):
        open_amount = _open_on(invoice, movements, day)
        if open_amount > 0:
            total += open_amount * (_rate_on(rates, day) + points)
    return (total / (100 * DAYS_PER_YEAR)).quantize(CENT, rounding=ROUND_HALF_UP)


def invoices_with_balance(*, company: Company | int) -> QuerySet[Invoice]:
    """The company's invoices and charges with their open balance, newest first."""
    invoices = Invoice.objects.for_company(company).exclude(kind=Invoice.Kind.CREDIT_NOTE)
    return with_open_amount(invoices).order_by("-issued_on", "-number")
