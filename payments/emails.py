"""Emails to the company's owners about debits and reminders, each sent once per key."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from billing.models import Invoice
from companies.models import Company, Role
from companies.outbox import company_addresses, send_company_email
from payments.models import Mandate, Prenotification, Reminder


def _message(company_id: int, template: str, context: dict) -> EmailMessage | None:
    recipients = company_addresses(company_id, (Role.OWNER,))
    if not recipients:
        return None
    company = Company.objects.get(pk=company_id)
    context = {
        **context,
        "company": company,
        "creditor_name": settings.PAYMENTS_CREDITOR_NAME,
        "creditor_id": settings.PAYMENTS_CREDITOR_ID,
        "creditor_iban": settings.PAYMENTS_CREDITOR_IBAN,
        "payment_url": settings.SITE_URL + reverse("backend:payment"),
    }
    return EmailMessage(
        subject=render_to_string(f"emails/payments/{template}_subject.txt", context).strip(),
        body=render_to_string(f"emails/payments/{template}.txt", context),
        to=recipients,
    )


def prenotification_send(*, prenotification_id: int) -> str:
    """R35: amount, date, mandate reference and creditor id of the coming debit."""
    notice = Prenotification.objects.unscoped().get(pk=prenotification_id)
    company_id = notice.company_id

    def build():
        context = {
            "notice": notice,
            "invoice": Invoice.objects.for_company(company_id).get(pk=notice.invoice_id),
            "mandate": Mandate.objects.for_company(company_id).get(pk=notice.mandate_id),
        }
        return _message(company_id, "prenotification", context)

    return send_company_email(
        company_id=company_id, key=f"prenotification:{notice.invoice_id}", build=build
    )


def reminder_send(*, reminder_id: int) -> str:
    """R36: the open amount, and the fee and interest this reminder charged."""
    reminder = Reminder.objects.unscoped().get(pk=reminder_id)
    company_id = reminder.company_id
    invoices = Invoice.objects.for_company(company_id)

    def build():
        context = {
            "reminder": reminder,
            "invoice": invoices.get(pk=reminder.invoice_id),
            "fee": invoices.filter(pk=reminder.fee_invoice_id).first(),
            "interest": invoices.filter(pk=reminder.interest_invoice_id).first(),
        }
        return _message(company_id, "reminder", context)

    return send_company_email(
        company_id=company_id,
        key=f"reminder:{reminder.invoice_id}:{reminder.number}",
        build=build,
    )
