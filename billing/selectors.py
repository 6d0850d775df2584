"""Read-only billing queries, always scoped to one company (TI-1)."""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta

from billing.models import Contract, Invoice, Plan
from companies.models import Company


def contracts_for_company(*, company: Company | int):
    return Contract.objects.for_company(company).select_related("plan")


def invoices_for_company(*, company: Company | int):
    return Invoice.objects.for_company(company).order_by("-issued_on", "-number")


def contract_notice_deadline(*, contract: Contract) -> datetime.date | None:
    """The last day a termination still takes effect at the end of the current term (R33)."""
    if contract.current_period_end is None:
        return None
    plan = contract.plan
    # The whole notice period must lie before the next term starts (BGB §188): a month's
    # notice for a term ending on 31 January is due by 31 December.
    next_start = contract.current_period_end + datetime.timedelta(days=1)
    if plan.notice_unit == Plan.NoticeUnit.DAYS:
        notice_starts = next_start - datetime.timedelta(days=plan.notice_period)
    else:
        notice_starts = next_start - relativedelta(months=plan.notice_period)
    return notice_starts - datetime.timedelta(days=1)
