"""pain.008 collection files for staff (R35): due, pre-notified invoices with an active mandate.

Submitting a file is treated as payment on its collection date; a debit the bank returns is
recorded as a return (``payments.services.payment_return_record``)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from sepaxml import SepaDD

from billing.models import Invoice
from companies.models import User
from payments.models import (
    Collection,
    CollectionItem,
    Mandate,
    PaymentMethod,
    Prenotification,
)
from payments.selectors import with_open_amount
from payments.services import payment_record

SCHEMA = "pain.008.001.08"  # the current DK/EPC format; sepaxml validates against its XSD


def _creditor() -> dict:
    return {
        "name": settings.PAYMENTS_CREDITOR_NAME,
        "IBAN": settings.PAYMENTS_CREDITOR_IBAN,
        "BIC": settings.PAYMENTS_CREDITOR_BIC,
        "batch": True,
        "creditor_id": settings.PAYMENTS_CREDITOR_ID,
        "currency": "EUR",
        "instrument": "CORE",
    }


def _collectable(collection_date: datetime.date, only: list[int] | None) -> list[Prenotification]:
    """Pre-notified debits planned by ``collection_date``, under a still-active mandate, not yet
    collected, whose open balance is still the pre-notified amount. Deliberately across tenants:
    one file carries every company's debits."""
    notices = (
        Prenotification.objects.unscoped()
        .select_for_update(skip_locked=True, of=("self",))
        .filter(collection_date__lte=collection_date, mandate__status=Mandate.Status.ACTIVE)
        .exclude(invoice_id__in=CollectionItem.objects.unscoped().values("invoice_id"))
        .select_related("mandate")
        .order_by("pk")
    )
    if only is not None:
        notices = notices.filter(pk__in=only)
    notices = list(notices)
    open_amounts = dict(
        with_open_amount(
            Invoice.objects.unscoped().filter(pk__in=[n.invoice_id for n in notices])
        ).values_list("pk", "open_amount")
    )
    return [n for n in notices if open_amounts.get(n.invoice_id) == n.amount]


def _sequence(mandate: Mandate) -> str:
    """FRST for a mandate's first collection (also for its other debits in the same file),
    RCUR after it."""
    used = CollectionItem.objects.for_company(mandate.company_id).filter(mandate=mandate)
    return CollectionItem.Sequence.RECURRING if used.exists() else CollectionItem.Sequence.FIRST


def collection_build(
    *,
    collection_date: datetime.date,
    created_by: User | None = None,
    prenotification_ids: list[int] | None = None,
) -> Collection | None:
    """Build one pain.008 file for every collectable debit; None when nothing is due. Each
    invoice is collected once (CollectionItem.invoice is unique) and counts as paid on the
    collection date."""
    with transaction.atomic():
        notices = _collectable(collection_date, prenotification_ids)
        if not notices:
            return None
        sequences = {n.mandate_id: _sequence(n.mandate) for n in notices}
        invoices = Invoice.objects.unscoped().in_bulk([n.invoice_id for n in notices])
        sepa = SepaDD(_creditor(), schema=SCHEMA, clean=True)
        collection = Collection.objects.create(
            created_by=created_by,
            collection_date=collection_date,
            message_id=sepa.msg_id[:35],
            schema=SCHEMA,
            count=len(notices),
            total=sum((n.amount for n in notices), Decimal("0.00")),
            xml="",
        )
        for notice in notices:
            _add(sepa, collection, notice, invoices[notice.invoice_id], sequences)
        collection.xml = sepa.export(validate=True).decode()
        collection.save(update_fields=["xml"])
    return collection


def _add(sepa, collection, notice, invoice, sequences) -> None:
    mandate = notice.mandate
    end_to_end = f"C{collection.pk}-I{invoice.pk}"
    item = CollectionItem.objects.create(
        company_id=notice.company_id,
        collection=collection,
        invoice=invoice,
        mandate=mandate,
        amount=notice.amount,
        sequence=sequences[mandate.pk],
        end_to_end_id=end_to_end,
    )
    payment = {
        "name": mandate.account_holder,
        "IBAN": mandate.iban,
        "amount": int(notice.amount * 100),
        "type": item.sequence,
        "collection_date": collection.collection_date,
        "mandate_id": mandate.reference,
        "mandate_date": mandate.signed_on,
        "description": f"Invoice {invoice.number}",
        "endtoend_id": end_to_end,
    }
    if mandate.bic:
        payment["BIC"] = mandate.bic
    sepa.add_payment(payment)
    payment_record(
        invoice=invoice,
        amount=notice.amount,
        received_on=collection.collection_date,
        method=PaymentMethod.SEPA,
        note=f"SEPA collection {collection.message_id}",
        collection_item=item,
    )
