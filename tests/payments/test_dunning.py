"""Dunning (R36, R39): reminders after the due date, the €40 flat fee and default interest at
the first reminder 30 days overdue, two months' default flagged, nothing twice."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core import mail

from billing.models import Contract, Invoice
from payments.dunning import payments_run
from payments.models import Reminder, TerminationFlag
from payments.services import payment_record
from tests.payments.conftest import issue

pytestmark = pytest.mark.django_db
D = datetime.date


def _days(start, end):
    day = start
    while day <= end:
        yield day
        day += datetime.timedelta(days=1)


def _charges(company, prefix):
    return list(
        Invoice.objects.for_company(company)
        .filter(kind=Invoice.Kind.CHARGE, charge_key__startswith=prefix)
        .order_by("charge_key")
    )


def test_it_duns_an_unpaid_invoice_through_its_whole_life(company, owner, contract):
    """R36, R39: issue on 20/05/2025, due at once (004 §14.1); reminders after 7, 21, 35 and
    49 days; at 35 days the €40 fee and interest from day 31 (§ 286 (3) BGB); a part payment
    and the base-rate change on 01/07/2025 inside the fourth reminder's interest; two months
    after invoicing the contract is flagged for extraordinary termination."""
    invoice = issue(contract, D(2025, 5, 20))
    sent_on = {}
    for day in _days(D(2025, 5, 20), D(2025, 7, 25)):
        if day == D(2025, 7, 3):
            payment_record(
                invoice=invoice, amount=Decimal("190.00"), received_on=day, method="transfer"
            )
        payments_run(today=day)
        for reminder in Reminder.objects.for_company(company).filter(sent_on=day):
            sent_on[reminder.number] = day
        flagged = TerminationFlag.objects.for_company(company).filter(invoice=invoice)
        assert flagged.exists() == (day >= D(2025, 7, 20)), day

    assert sent_on == {1: D(2025, 5, 27), 2: D(2025, 6, 10), 3: D(2025, 6, 24), 4: D(2025, 7, 8)}
    reminders = list(Reminder.objects.for_company(company).filter(invoice=invoice))
    assert [r.days_overdue for r in reminders] == [7, 21, 35, 49]
    assert [r.open_amount for r in reminders][-1] == Decimal("1000.00")
    assert [r.fee_invoice_id is not None for r in reminders] == [False, False, True, False]

    (fee,) = _charges(company, "dunning-fee:")
    assert fee.charge_key == f"dunning-fee:{invoice.pk}" and fee.net == Decimal("40.00")
    # Lump-sum damages and default interest are not a supply: no VAT for a German buyer either.
    assert (fee.vat, fee.gross, fee.vat_treatment) == (Decimal("0.00"), fee.net, "damages")
    first, second = _charges(company, "interest:")
    # 20/06-24/06: 5 days x 1190 x 11.27 % / 365 = 1.837... -> 1.84
    assert first.charge_key == f"interest:{invoice.pk}:3" and first.net == Decimal("1.84")
    assert first.gross == first.net and first.vat_treatment == "damages"
    # 25/06-08/07: 6 d x 1190 x 11.27 % + 2 d x 1190 x 10.27 % + 6 d x 1000 x 10.27 % -> 4.56
    assert second.charge_key == f"interest:{invoice.pk}:4" and second.net == Decimal("4.56")
    assert (second.period_start, second.period_end) == (D(2025, 6, 25), D(2025, 7, 8))

    subjects = [m.subject for m in mail.outbox if "reminder" in m.subject.lower()]
    assert len(subjects) == 4 and all(m.to == [owner.email] for m in mail.outbox)
    third = next(m for m in mail.outbox if m.subject.startswith("Payment reminder 3"))
    assert "35 days overdue" in third.body
    assert f"EUR {fee.gross}" in third.body and f"EUR {first.gross}" in third.body

    flag = TerminationFlag.objects.for_company(company).get(invoice=invoice)
    assert flag.flagged_on == D(2025, 7, 20) and flag.contract_id == contract.pk
    assert flag.terminated_on is None  # staff confirm it (PAYMENTS_TERMINATE_AUTOMATICALLY)
    # No reminders or interest on the fee and interest charges themselves (§ 289 BGB).
    assert Reminder.objects.for_company(company).exclude(invoice=invoice).count() == 0

    # Paid in full on 26/07: the interest from 09/07 to 25/07 is charged once, at payment.
    payment_record(
        invoice=invoice, amount=Decimal("1000.00"), received_on=D(2025, 7, 26), method="transfer"
    )
    for day in _days(D(2025, 7, 26), D(2025, 7, 28)):
        payments_run(today=day)
    final = Invoice.objects.for_company(company).get(charge_key=f"interest:{invoice.pk}:final")
    # 17 days x 1000 x 10.27 % / 365 = 4.783... -> 4.78
    assert final.net == Decimal("4.78") and final.issued_on == D(2025, 7, 26)
    assert (final.period_start, final.period_end) == (D(2025, 7, 9), D(2025, 7, 26))


def test_it_sends_and_charges_nothing_twice_when_the_run_repeats(company, owner, contract):
    """R36: the daily run twice on one day sends one reminder and charges each thing once."""
    invoice = issue(contract, D(2025, 5, 20))
    for day in (D(2025, 5, 27), D(2025, 6, 10), D(2025, 6, 24)):
        first = payments_run(today=day)
        emails, charges = len(mail.outbox), Invoice.objects.for_company(company).count()
        assert first >= 1
        assert payments_run(today=day) == 0
        assert len(mail.outbox) == emails
        assert Invoice.objects.for_company(company).count() == charges
    assert Reminder.objects.for_company(company).filter(invoice=invoice).count() == 3
    assert len(_charges(company, "dunning-fee:")) == 1
    assert len(_charges(company, "interest:")) == 1


def test_it_stops_dunning_a_paid_invoice(company, owner, contract):
    """R36: once the invoice is paid no further reminder goes out."""
    invoice = issue(contract, D(2025, 5, 20))
    payments_run(today=D(2025, 5, 27))
    payment_record(
        invoice=invoice, amount=Decimal("1190.00"), received_on=D(2025, 6, 1), method="transfer"
    )
    for day in _days(D(2025, 6, 1), D(2025, 8, 1)):
        payments_run(today=day)
    assert Reminder.objects.for_company(company).count() == 1
    assert not TerminationFlag.objects.for_company(company).exists()
    assert not _charges(company, "dunning-fee:")


def test_it_terminates_the_contract_when_staff_confirm_the_flag(company, owner, contract, settings):
    """R39: confirming the flag ends the contract for good cause (billing's service)."""
    settings.PAYMENTS_TERMINATE_AUTOMATICALLY = True
    issue(contract, D(2025, 5, 20))
    for day in _days(D(2025, 7, 19), D(2025, 7, 20)):
        payments_run(today=day)
    flag = TerminationFlag.objects.for_company(company).get()
    assert flag.terminated_on == D(2025, 7, 20)
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ENDED
    assert contract.termination_kind == Contract.TerminationKind.EXTRAORDINARY
    payments_run(today=D(2025, 7, 21))
    assert TerminationFlag.objects.for_company(company).count() == 1


def test_it_keeps_each_company_to_its_own_dunning(company, owner, contract, other_contract):
    """TI-1: one company's reminder never mentions or charges the other company."""
    issue(contract, D(2025, 5, 20))
    mine = issue(other_contract, D(2025, 5, 20))
    payment_record(invoice=mine, amount=mine.gross, received_on=D(2025, 5, 21), method="transfer")
    payments_run(today=D(2025, 5, 27))
    assert Reminder.objects.unscoped().values_list("company_id", flat=True).get() == company.pk
    assert all("BETA-B" not in m.body for m in mail.outbox)
