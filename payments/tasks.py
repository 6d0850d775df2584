"""Periodic job of the payments app."""

from celery import shared_task

from payments import dunning


@shared_task(name="payments.run_payments")
def run_payments() -> int:
    return dunning.payments_run()
