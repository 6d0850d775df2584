"""Mandates, payments and returns (R35, R36). Collections: ``payments.collections``; the daily
run with pre-notifications and dunning: ``payments.dunning``."""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors

from billing.models import Contract, Invoice
from billing.services import charge_invoice_issue
from companies.models import Company, User
from payments.models import Mandate, Payment, PaymentMethod, PaymentSettings

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # SEPA charset, no look-alikes


def mandate_reference_new(*, company: Company) -> str:
    """A unique mandate reference: ``RVW-<company>-<10 random>``, SEPA charset, ≤ 35 chars."""
    suffix = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))
    return f"RVW-{company.pk:06d}-{suffix}"


def iban_check(*, iban: str, bic: str = "") -> tuple[str, str]:
    """The IBAN in electronic form and a BIC (entered, else derived from the IBAN).

    Raises ``ValidationError`` with the failing field."""
    try:
        parsed = IBAN(iban)
    except schwifty_errors.SchwiftyException as exc:
        raise ValidationError({"iban": _("This is not a valid IBAN.")}) from exc
    if not parsed.in_sepa_zone:
        raise ValidationError({"iban": _("The account must be in the SEPA area.")})
    if bic:
        try:
            return parsed.compact, str(BIC(bic))
        except schwifty_errors.SchwiftyException as exc:
            raise ValidationError({"bic": _("This is not a valid BIC.")}) from exc
    derived = parsed.bic
    return parsed.compact, str(derived) if derived else ""


def mandate_create(
    *,
    company: Company,
    account_holder: str,
    iban: str,
    signed_on: datetime.date,
    bic: str = "",
    signed_by: User | None = None,
) -> Mandate:
    """R35: a new mandate; it replaces (revokes) the active one, if any."""
    iban, bic = iban_check(iban=iban, bic=bic)
    holder = account_holder.strip()
    if not holder:
        raise ValidationError({"account_holder": _("Enter the account holder.")})
    with transaction.atomic():
        for current in Mandate.objects.for_company(company).filter(status=Mandate.Status.ACTIVE):
            mandate_revoke(mandate=current, today=signed_on)
        return Mandate.objects.create(
            company=company,
            reference=mandate_reference_new(company=company),
            account_holder=holder[:70],
            iban=iban,
            bic=bic,
            signed_on=signed_on,
            signed_by=signed_by,
        )


def mandate_revoke(*, mandate: Mandate, today: datetime.date) -> Mandate:
    """The mandate stops; debits already pre-notified under it are no longer collected."""
    Mandate.objects.for_company(mandate.company_id).filter(
        pk=mandate.pk, status=Mandate.Status.ACTIVE
    ).update(status=Mandate.Status.REVOKED, revoked_on=today, updated_at=timezone.now())
    mandate.refresh_from_db()
    return mandate


def payment_method_approve(
    *, company: Company, method: str, approved_by: User, note: str = ""
) -> PaymentSettings:
    """R35: another method than SEPA direct debit only with staff approval (004 §14.2)."""
    chosen, _created = PaymentSettings.objects.for_company(company).get_or_create(company=company)
    chosen.method = method
    chosen.approved_by = approved_by if method != PaymentMethod.SEPA else None
    chosen.approved_at = timezone.now() if method != PaymentMethod.SEPA else None
    chosen.approval_note = note
    chosen.save()
    return chosen


def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    received_on: datetime.date,
    method: str,
    note: str = "",
    recorded_by: User | None = None,
    collection_item=None,
) -> Payment:
    """Money received for ``invoice``: its open balance falls by ``amount``."""
    return Payment.objects.create(
        company_id=invoice.company_id,
        invoice=invoice,
        kind=Payment.Kind.PAYMENT,
        amount=amount,
        received_on=received_on,
        method=method,
        note=note,
        recorded_by=recorded_by,
        collection_item=collection_item,
    )


def payment_return_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    returned_on: datetime.date,
    method: str = PaymentMethod.SEPA,
    note: str = "",
    charge_fee: bool = True,
    recorded_by: User | None = None,
) -> Payment:
    """A returned debit or chargeback: the open balance rises again, and (unless the company was
    not responsible, 004 §14.5) a €20 return fee is charged once, key ``return-fee:<return>``."""
    with transaction.atomic():
        returned = Payment.objects.create(
            company_id=invoice.company_id,
            invoice=invoice,
            kind=Payment.Kind.RETURN,
            amount=amount,
            received_on=returned_on,
            method=method,
            note=note,
            recorded_by=recorded_by,
        )
        if charge_fee:
            return_fee_charge(payment=returned)
    return returned


def return_fee_charge(*, payment: Payment) -> Invoice:
    """R36, 004 §14.5: €20 per returned debit, charged once per return."""
    invoice = Invoice.objects.for_company(payment.company_id).get(pk=payment.invoice_id)
    contract = Contract.objects.for_company(payment.company_id).get(pk=invoice.contract_id)
    fee = Decimal(settings.PAYMENTS_RETURN_FEE)
    text = (
        f"Return debit fee for invoice {invoice.number} (returned {payment.received_on:%d.%m.%Y})"
    )
    return charge_invoice_issue(
        contract=contract,
        key=f"return-fee:{payment.pk}",
        lines=[(text, Decimal(1), fee)],
        issued_on=payment.received_on,
        reason="Returned direct debit (004 §14.5)",
        damages=True,
    )
