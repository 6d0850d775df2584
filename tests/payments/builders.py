"""One row of each payments model for tests/platform/test_admin.py (BUILDERS)."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from billing.services import invoice_issue_for_period
from payments.models import (
    BaseRate,
    Collection,
    CollectionItem,
    PaymentMethod,
    PaymentSettings,
    Prenotification,
    Reminder,
    TerminationFlag,
)
from payments.services import mandate_create, payment_record
from tests import factories

D = datetime.date
_SEQUENCE = itertools.count(1)


def _invoice(shop):
    contract = factories.ContractFactory(company=shop.company)
    return invoice_issue_for_period(contract=contract, period_start=contract.starts_on)


def _mandate(shop):
    return mandate_create(
        company=shop.company,
        account_holder="Alex Example",
        iban="DE89370400440532013000",
        signed_on=D(2026, 1, 2),
    )


def _prenotification(shop):
    invoice = _invoice(shop)
    return Prenotification.objects.create(
        company=shop.company,
        invoice=invoice,
        mandate=_mandate(shop),
        amount=invoice.gross,
        collection_date=D(2026, 2, 3),
        notified_on=D(2026, 2, 1),
    )


def _collection():
    return Collection.objects.create(
        collection_date=D(2026, 2, 3),
        message_id=f"MSG-{next(_SEQUENCE)}",
        schema="pain.008.001.08",
        count=1,
        total=Decimal("118.88"),
        xml="<Document/>",
    )


def _collection_item(shop):
    notice = _prenotification(shop)
    return CollectionItem.objects.create(
        company=shop.company,
        collection=_collection(),
        invoice_id=notice.invoice_id,
        mandate_id=notice.mandate_id,
        amount=notice.amount,
        sequence=CollectionItem.Sequence.FIRST,
        end_to_end_id=f"E2E-{next(_SEQUENCE)}",
    )


def _reminder(shop):
    invoice = _invoice(shop)
    return Reminder.objects.create(
        company=shop.company,
        invoice=invoice,
        number=1,
        sent_on=D(2026, 2, 8),
        days_overdue=7,
        open_amount=invoice.gross,
    )


def _termination_flag(shop):
    invoice = _invoice(shop)
    return TerminationFlag.objects.create(
        company=shop.company,
        contract_id=invoice.contract_id,
        invoice=invoice,
        flagged_on=D(2026, 4, 1),
    )


PAYMENT_BUILDERS = {
    # One payment setting per company: each row gets a company of its own.
    "payments.PaymentSettings": lambda shop: PaymentSettings.objects.create(
        company=factories.CompanyFactory(), method=PaymentMethod.TRANSFER
    ),
    "payments.Mandate": _mandate,
    "payments.BaseRate": lambda shop: BaseRate.objects.create(
        valid_from=D(2000, 1, 1) + datetime.timedelta(days=next(_SEQUENCE)), rate=Decimal("1.00")
    ),
    "payments.Prenotification": _prenotification,
    "payments.Collection": lambda shop: _collection(),
    "payments.CollectionItem": _collection_item,
    "payments.Payment": lambda shop: payment_record(
        invoice=_invoice(shop), amount=Decimal("10.00"), received_on=D(2026, 2, 3), method="sepa"
    ),
    "payments.Reminder": _reminder,
    "payments.TerminationFlag": _termination_flag,
}
