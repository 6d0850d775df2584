"""Default interest and balances (R36): per day on the open amount, across base-rate changes,
act/365, rounded to the cent once."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from billing.services import credit_note_issue
from payments.models import BaseRate
from payments.selectors import default_interest, invoice_open_amount
from payments.services import payment_record, payment_return_record
from tests.payments.conftest import issue

pytestmark = pytest.mark.django_db
D = datetime.date


def test_it_seeds_the_bundesbank_base_rates():
    """R36, § 247 BGB: the recent base rates are data, valid from 1 January and 1 July."""
    rates = dict(BaseRate.objects.values_list("valid_from", "rate"))
    assert rates[D(2023, 7, 1)] == Decimal("3.12")
    assert rates[D(2024, 1, 1)] == Decimal("3.62")
    assert rates[D(2024, 7, 1)] == Decimal("3.37")
    assert rates[D(2025, 1, 1)] == Decimal("2.27")
    assert rates[D(2025, 7, 1)] == Decimal("1.27")


def test_it_computes_interest_per_day_across_a_rate_change_and_payments(contract):
    """R36: 9 points above the base rate valid each day, on each day's open amount, act/365."""
    invoice = issue(contract, D(2025, 5, 20))
    assert invoice.gross == Decimal("1190.00")
    payment_record(
        invoice=invoice, amount=Decimal("190.00"), received_on=D(2025, 7, 3), method="transfer"
    )

    interest = default_interest(invoice=invoice, start=D(2025, 6, 25), end=D(2025, 7, 8))

    # 6 days x 1190 x 11.27 % + 2 days x 1190 x 10.27 % + 6 days x 1000 x 10.27 %, / 365
    exact = 6 * 1190 * Decimal("11.27") + 2 * 1190 * Decimal("10.27") + 6000 * Decimal("10.27")
    assert exact / 36500 == Decimal("4.562476712328767123287671233")
    assert interest == Decimal("4.56")


def test_it_uses_a_rate_staff_add_later(contract):
    """R36: a base rate staff enter in the admin applies from its date."""
    BaseRate.objects.create(valid_from=D(2025, 6, 1), rate=Decimal("11.00"))
    invoice = issue(contract, D(2025, 5, 20))
    # 1190 x 20 % / 365 for one day = 0.652... -> 0.65
    assert default_interest(invoice=invoice, start=D(2025, 6, 2), end=D(2025, 6, 2)) == Decimal(
        "0.65"
    )


def test_it_counts_payments_returns_and_credit_notes_in_the_open_amount(contract):
    """R36: open = gross - payments + returns (+ credit notes, which are negative)."""
    invoice = issue(contract, D(2025, 5, 20))
    payment_record(
        invoice=invoice, amount=Decimal("1190.00"), received_on=D(2025, 5, 22), method="sepa"
    )
    assert invoice_open_amount(invoice=invoice) == Decimal("0.00")
    payment_return_record(
        invoice=invoice, amount=Decimal("1190.00"), returned_on=D(2025, 5, 27), charge_fee=False
    )
    assert invoice_open_amount(invoice=invoice, on=D(2025, 5, 26)) == Decimal("0.00")
    assert invoice_open_amount(invoice=invoice) == Decimal("1190.00")

    credit_note_issue(invoice=invoice, reason="cancelled", issued_on=D(2025, 6, 1))
    assert invoice_open_amount(invoice=invoice) == Decimal("0.00")
