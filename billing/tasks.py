"""Periodic jobs of the billing app."""

from celery import shared_task

from billing import services


@shared_task(name="billing.run_billing")
def run_billing() -> int:
    return services.billing_run()
