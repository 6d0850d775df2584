"""Overage: invitations sent beyond the plan's monthly volume (R37, 004 §14.7).

At the end of each calendar month (Europe/Berlin) the daily billing run counts the invitation
emails (not reminders) the company's shops handed to the mail server in that month while the
contract ran, and charges those beyond ``Plan.included_invitations_per_month`` at
``Plan.overage_price`` each, on a charge invoice keyed ``overage:<contract>:<yyyy-mm>``. The
run looks back 13 months, so a run that was missed for a while still bills every month once; a
contract's last month is billed the day after it ends.
"""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from billing.models import Contract, Invoice
from invitations.models import InvitationEmail

LOOK_BACK_MONTHS = 13


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def invitations_sent(*, company_id: int, first: datetime.date, last: datetime.date) -> int:
    """Invitation emails delivered to the mail server from ``first`` to ``last`` (inclusive)."""
    return (
        InvitationEmail.objects.for_company(company_id)
        .filter(
            kind=InvitationEmail.Kind.INVITATION,
            sent_at__gte=_midnight(first),
            sent_at__lt=_midnight(last + datetime.timedelta(days=1)),
        )
        .count()
    )


def _months(contract: Contract, today: datetime.date):
    """First days of the months the contract ran in that are over by ``today``: ended, or
    the contract's last month once the contract has ended."""
    this_month = today.replace(day=1)
    ended = contract.ends_on is not None and contract.ends_on < today
    month = max(
        contract.starts_on.replace(day=1), this_month - relativedelta(months=LOOK_BACK_MONTHS)
    )
    while month <= (contract.ends_on or today) and (month < this_month or ended):
        yield month
        month += relativedelta(months=1)


def overage_bill(
    *, contract: Contract, today: datetime.date, issued_on: datetime.date | None = None
) -> int:
    """Charge each ended month's overage once; returns the number of charges issued."""
    from billing.services import charge_invoice_issue  # the services call this module

    plan = contract.plan
    if contract.status == Contract.Status.PENDING or plan.overage_price <= 0:
        return 0
    prefix = f"overage:{contract.pk}:"
    billed = set(
        Invoice.objects.for_company(contract.company_id)
        .filter(charge_key__startswith=prefix)
        .values_list("charge_key", flat=True)
    )
    issued = 0
    for month in _months(contract, today):
        key = f"{prefix}{month:%Y-%m}"
        if key in billed:
            continue
        first = max(month, contract.starts_on)
        last = month + relativedelta(months=1, days=-1)
        if contract.ends_on:
            last = min(last, contract.ends_on)
        excess = (
            invitations_sent(company_id=contract.company_id, first=first, last=last)
            - plan.included_invitations_per_month
        )
        if excess <= 0:
            continue
        text = (
            f"Invitations beyond the {plan.included_invitations_per_month} included "
            f"in {month:%m/%Y}"
        )
        charge_invoice_issue(
            contract=contract,
            key=key,
            lines=[(text, excess, plan.overage_price)],
            issued_on=issued_on or today,
            period=(first, last),
            reason="Overage (004 §14.7)",
        )
        issued += 1
    return issued
