"""Billing emails to a company's owners, each sent once per key (companies.outbox)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from billing.documents import invoice_filename, invoice_pdf
from billing.models import Contract, Invoice, PriceIncrease
from billing.selectors import contract_notice_deadline
from companies.models import Role
from companies.outbox import company_addresses, send_company_email
from companies.tenancy import tenant_scope


def _message(template: str, context: dict, company_id: int) -> EmailMessage | None:
    owners = company_addresses(company_id, roles=(Role.OWNER,))
    if not owners:
        return None
    context = {**context, "billing_url": settings.SITE_URL + reverse("backend:billing")}
    subject = render_to_string(f"emails/billing/{template}_subject.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=render_to_string(f"emails/billing/{template}.txt", context),
        to=owners,
        headers={"Auto-Submitted": "auto-generated"},
    )


def _company_of(model, pk: int) -> int:
    # Deliberately cross-tenant: the task's id names the tenant; the rest runs in its scope.
    return model.objects.unscoped().values_list("company_id", flat=True).get(pk=pk)


def invoice_email_send(*, invoice_id: int) -> str:
    """R34: the issued invoice (credit note, charge) as PDF with its e-invoice, to the owners."""
    company_id = _company_of(Invoice, invoice_id)
    with tenant_scope(company_id):
        invoice = Invoice.objects.select_related("corrects").get(pk=invoice_id)

        def build():
            message = _message("invoice", {"invoice": invoice}, company_id)
            if message is not None:
                message.attach(invoice_filename(invoice), invoice_pdf(invoice), "application/pdf")
            return message

        return send_company_email(company_id=company_id, key=f"invoice:{invoice_id}", build=build)


def termination_confirmation_send(*, contract_id: int) -> str:
    """R33, 004 §13.5: the termination confirmed in text form, with the day it takes effect."""
    company_id = _company_of(Contract, contract_id)
    with tenant_scope(company_id):
        contract = Contract.objects.select_related("plan").get(pk=contract_id)

        def build():
            if contract.status != Contract.Status.TERMINATED:
                return None
            context = {
                "contract": contract,
                "deadline": contract_notice_deadline(contract=contract),
            }
            return _message("termination", context, company_id)

        return send_company_email(
            company_id=company_id, key=f"termination:{contract_id}", build=build
        )


def price_increase_notice_send(*, price_increase_id: int) -> str:
    """R38: the increase announced to the owners, at least four weeks ahead."""
    company_id = _company_of(PriceIncrease, price_increase_id)
    with tenant_scope(company_id):
        increase = PriceIncrease.objects.select_related("plan").get(pk=price_increase_id)
        return send_company_email(
            company_id=company_id,
            key=f"price-increase:{price_increase_id}",
            build=lambda: _message("price_increase", {"increase": increase}, company_id),
        )
