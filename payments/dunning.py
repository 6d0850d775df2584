"""The daily payments run (R35, R36, R39): pre-notify debits, remind, charge the late fee and
default interest, flag two months' default. Safe to run twice a day: every step is keyed
(Prenotification.invoice, Reminder (invoice, number), charge keys, email keys)."""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from billing.models import Contract, Invoice
from billing.services import charge_invoice_issue
from payments import emails
from payments.models import (
    CollectionItem,
    Mandate,
    PaymentMethod,
    PaymentSettings,
    Prenotification,
    Reminder,
    TerminationFlag,
)
from payments.selectors import default_interest, invoice_due_on, with_open_amount

logger = logging.getLogger(__name__)

# Charges that are damages, not fees for a service: no reminders or interest on them (§ 289 BGB
# forbids interest on interest; § 288 (5) BGB's flat fee is for claims to payment only).
DAMAGES_KEYS = ("return-fee:", "dunning-fee:", "interest:")


def _open_invoices():
    """Every company's invoices and charges with a positive open balance. Deliberately across
    tenants: the daily run serves all companies."""
    invoices = Invoice.objects.unscoped().exclude(kind=Invoice.Kind.CREDIT_NOTE)
    return with_open_amount(invoices).filter(open_amount__gt=0).order_by("pk")


# --- Pre-notification (R35) ---------------------------------------------------------------------


def _sepa_company_ids() -> set[int]:
    with_mandate = set(
        Mandate.objects.unscoped()
        .filter(status=Mandate.Status.ACTIVE)
        .values_list("company_id", flat=True)
    )
    # Staff approved another method for these companies (004 §14.2).
    other = set(
        PaymentSettings.objects.unscoped()
        .filter(approved_at__isnull=False)
        .exclude(method=PaymentMethod.SEPA)
        .values_list("company_id", flat=True)
    )
    return with_mandate - other


def prenotify_due(*, today: datetime.date) -> int:
    """Announce each open invoice's debit at least ``PAYMENTS_PRENOTIFICATION_DAYS`` before its
    collection date (004 §14.4: one day), once per invoice."""
    companies = _sepa_company_ids()
    invoices = (
        _open_invoices()
        .filter(company_id__in=companies)
        .exclude(pk__in=Prenotification.objects.unscoped().values("invoice_id"))
        .exclude(pk__in=CollectionItem.objects.unscoped().values("invoice_id"))
    )
    lead = datetime.timedelta(days=settings.PAYMENTS_PRENOTIFICATION_DAYS)
    mandates = {
        m.company_id: m
        for m in Mandate.objects.unscoped().filter(
            status=Mandate.Status.ACTIVE, company_id__in=companies
        )
    }
    sent = 0
    for invoice in invoices:
        try:
            with transaction.atomic():
                notice = Prenotification.objects.create(
                    company_id=invoice.company_id,
                    invoice=invoice,
                    mandate=mandates[invoice.company_id],
                    amount=invoice.open_amount,
                    collection_date=max(invoice_due_on(invoice), today + lead),
                    notified_on=today,
                )
        except IntegrityError:  # another run pre-notified it a moment ago
            continue
        emails.prenotification_send(prenotification_id=notice.pk)
        sent += 1
    return sent


# --- Reminders, late fee, interest (R36) --------------------------------------------------------


def _dunnable(today: datetime.date):
    """Open, overdue claims to payment that are not waiting for their own debit: a pre-notified
    debit under an active mandate that was not collected yet is ours to make, not late."""
    waiting = Prenotification.objects.unscoped().filter(
        invoice_id=OuterRef("pk"), mandate__status=Mandate.Status.ACTIVE
    )
    collected = CollectionItem.objects.unscoped().filter(invoice_id=OuterRef("pk"))
    latest_due = today - datetime.timedelta(days=settings.PAYMENTS_DUE_DAYS + 1)
    damages = Q()
    for prefix in DAMAGES_KEYS:
        damages |= Q(charge_key__startswith=prefix)
    return (
        _open_invoices()
        .filter(issued_on__lte=latest_due)
        .exclude(damages)
        .exclude(Q(Exists(waiting)) & ~Q(Exists(collected)))
    )


def _reminder_due_on(invoice: Invoice, number: int) -> datetime.date:
    days = settings.PAYMENTS_REMINDER_FIRST_DAYS
    days += (number - 1) * settings.PAYMENTS_REMINDER_INTERVAL_DAYS
    return invoice_due_on(invoice) + datetime.timedelta(days=days)


def default_starts_on(invoice: Invoice) -> datetime.date:
    """§ 286 (3) BGB: a business is in default 30 days after the due date; interest runs from
    the day after (``PAYMENTS_LATE_FEE_AFTER_DAYS``)."""
    after = datetime.timedelta(days=settings.PAYMENTS_LATE_FEE_AFTER_DAYS + 1)
    return invoice_due_on(invoice) + after


def remind(*, invoice: Invoice, today: datetime.date) -> Reminder | None:
    """Send the invoice's next reminder if it is due; at or after 30 days overdue it charges the
    €40 flat fee once and the interest accrued since the last charge (R36, 004 §14.8)."""
    previous = list(Reminder.objects.for_company(invoice.company_id).filter(invoice=invoice))
    number = len(previous) + 1
    if number > settings.PAYMENTS_REMINDER_MAX or _reminder_due_on(invoice, number) > today:
        return None
    days_overdue = (today - invoice_due_on(invoice)).days
    try:
        with transaction.atomic():
            reminder = Reminder.objects.create(
                company_id=invoice.company_id,
                invoice=invoice,
                number=number,
                sent_on=today,
                days_overdue=days_overdue,
                open_amount=invoice.open_amount,
            )
            if days_overdue >= settings.PAYMENTS_LATE_FEE_AFTER_DAYS:
                _charge_default(reminder, invoice, previous, today)
    except IntegrityError:  # the same reminder was written by a concurrent run
        return None
    emails.reminder_send(reminder_id=reminder.pk)
    return reminder


def _charge_default(reminder: Reminder, invoice: Invoice, previous, today) -> None:
    contract = Contract.objects.for_company(invoice.company_id).get(pk=invoice.contract_id)
    if not any(r.fee_invoice_id for r in previous):
        reminder.fee_invoice = charge_invoice_issue(
            contract=contract,
            key=f"dunning-fee:{invoice.pk}",
            lines=[
                (
                    f"Late payment flat fee for invoice {invoice.number} (§ 288 (5) BGB)",
                    Decimal(1),
                    Decimal(settings.PAYMENTS_LATE_FEE),
                )
            ],
            issued_on=today,
            reason="Late payment (004 §14.8)",
            damages=True,
        )
    charged_until = max((r.interest_until for r in previous if r.interest_until), default=None)
    start = default_starts_on(invoice)
    if charged_until is not None:
        start = charged_until + datetime.timedelta(days=1)
    interest = default_interest(invoice=invoice, start=start, end=today)
    if interest > 0:
        key = f"interest:{invoice.pk}:{reminder.number}"
        reminder.interest_invoice = _interest_charge(invoice, key, start, today, interest)
        reminder.interest_until = today
    reminder.save()


def settle_interest(*, today: datetime.date) -> int:
    """Once a defaulted invoice is paid, charge the interest from the last charged day up to
    the payment (R36), once: key ``interest:<invoice>:final``."""
    final_key = Concat(Value("interest:"), Cast("pk", CharField()), Value(":final"))
    charged = Invoice.objects.unscoped().filter(
        company_id=OuterRef("company_id"), charge_key=OuterRef("final_key")
    )
    # Deliberately across tenants, like the whole daily run.
    defaulted = Reminder.objects.unscoped().filter(fee_invoice__isnull=False).values("invoice_id")
    settled = (
        with_open_amount(Invoice.objects.unscoped().filter(pk__in=defaulted))
        .filter(open_amount__lte=0)
        .annotate(final_key=final_key)
        .exclude(Exists(charged))
    )
    return sum(_charge_final_interest(invoice, today) for invoice in settled)


def _charge_final_interest(invoice: Invoice, today: datetime.date) -> int:
    reminders = Reminder.objects.for_company(invoice.company_id).filter(invoice=invoice)
    charged_until = max((r.interest_until for r in reminders if r.interest_until), default=None)
    start = default_starts_on(invoice)
    if charged_until is not None:
        start = charged_until + datetime.timedelta(days=1)
    interest = default_interest(invoice=invoice, start=start, end=today)
    if interest <= 0:
        return 0
    _interest_charge(invoice, f"interest:{invoice.pk}:final", start, today, interest)
    return 1


def _interest_charge(invoice, key, start, end, interest) -> Invoice:
    contract = Contract.objects.for_company(invoice.company_id).get(pk=invoice.contract_id)
    return charge_invoice_issue(
        contract=contract,
        key=key,
        lines=[
            (
                f"Default interest on invoice {invoice.number}, "
                f"{start:%d.%m.%Y}-{end:%d.%m.%Y} (§ 288 (2) BGB)",
                Decimal(1),
                interest,
            )
        ],
        issued_on=end,
        period=(start, end),
        reason="Default interest (004 §14.8)",
        damages=True,
    )


# --- Two months overdue (R39) -------------------------------------------------------------------


def flag_termination(*, invoice: Invoice, today: datetime.date) -> TerminationFlag | None:
    """004 §13.6: overdue by two months after invoicing allows extraordinary termination."""
    months = relativedelta(months=settings.PAYMENTS_TERMINATION_AFTER_MONTHS)
    if invoice.issued_on + months > today:
        return None
    flag, created = TerminationFlag.objects.for_company(invoice.company_id).get_or_create(
        invoice=invoice,
        defaults={
            "company_id": invoice.company_id,
            "contract_id": invoice.contract_id,
            "flagged_on": today,
        },
    )
    if not created:
        return None
    if settings.PAYMENTS_TERMINATE_AUTOMATICALLY:
        termination_confirm(flag=flag, today=today)
    return flag


def termination_confirm(*, flag: TerminationFlag, today: datetime.date, actor=None) -> None:
    """R39: end the contract for good cause; the rest of the period falls due and R30 applies
    (billing.services.contract_terminate_extraordinary). Confirming twice changes nothing."""
    from billing.services import contract_terminate_extraordinary

    contract = Contract.objects.for_company(flag.company_id).get(pk=flag.contract_id)
    invoice = Invoice.objects.for_company(flag.company_id).get(pk=flag.invoice_id)
    contract_terminate_extraordinary(
        contract=contract,
        reason=f"Payment of invoice {invoice.number} overdue by two months (004 §13.6)",
        today=today,
        actor=actor,
    )
    TerminationFlag.objects.for_company(flag.company_id).filter(
        pk=flag.pk, terminated_on__isnull=True
    ).update(terminated_on=today, terminated_by=actor, updated_at=timezone.now())


def payments_run(*, today: datetime.date | None = None) -> int:
    """The daily run: pre-notifications, reminders with fee and interest, termination flags."""
    today = today or timezone.localdate()
    actions = prenotify_due(today=today) + settle_interest(today=today)
    for invoice in _dunnable(today):
        actions += remind(invoice=invoice, today=today) is not None
        actions += flag_termination(invoice=invoice, today=today) is not None
    logger.info("payments run %s: %d actions", today, actions)
    return actions
