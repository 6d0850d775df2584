"""Jobs of the billing app: they take ids, re-read the rows and are safe to run twice."""

from __future__ import annotations

import smtplib

from celery import shared_task

from billing import emails, services

_EMAIL_TASK = {
    "autoretry_for": (
        smtplib.SMTPServerDisconnected,
        smtplib.SMTPConnectError,
        TimeoutError,
        ConnectionError,
    ),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="billing.run_billing")
def run_billing() -> int:
    return services.billing_run()


@shared_task(name="billing.send_invoice_email", **_EMAIL_TASK)
def send_invoice_email(invoice_id: int) -> str:
    return emails.invoice_email_send(invoice_id=invoice_id)


@shared_task(name="billing.send_termination_confirmation", **_EMAIL_TASK)
def send_termination_confirmation(contract_id: int) -> str:
    return emails.termination_confirmation_send(contract_id=contract_id)


@shared_task(name="billing.send_price_increase_notice", **_EMAIL_TASK)
def send_price_increase_notice(price_increase_id: int) -> str:
    return emails.price_increase_notice_send(price_increase_id=price_increase_id)
