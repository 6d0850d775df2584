"""Read-only billing queries, always scoped to one company (TI-1)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.http import Http404

from billing.models import Contract, Invoice, Plan, PriceIncrease
from companies.models import Company


def contracts_for_company(*, company: Company | int):
    return Contract.objects.for_company(company).select_related("plan")


def invoices_for_company(*, company: Company | int):
    return Invoice.objects.for_company(company).order_by("-issued_on", "-number")


def access_invoice(*, company: Company | int, invoice_id: int) -> Invoice:
    """The company's invoice; another company's id is a 404 like a missing one (TI-1)."""
    invoice = (
        Invoice.objects.for_company(company)
        .select_related("corrects")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise Http404
    return invoice


@dataclass(frozen=True)
class ContractSummary:
    """What the billing page says about a contract on ``today`` (R33, R38)."""

    price: Decimal
    next_renewal: datetime.date | None  # None when terminated or ended
    notice_deadline: datetime.date | None
    ends_if_terminated_today: datetime.date | None
    price_increases: list[PriceIncrease]


def contract_summary(*, contract: Contract, today: datetime.date) -> ContractSummary:
    from billing.pricing import price_for_period

    running = contract.status == Contract.Status.ACTIVE and contract.current_period_end
    deadline = contract_notice_deadline(contract=contract) if running else None
    ends = None
    if running:
        ends = contract.current_period_end
        if today > deadline:
            next_start = contract.current_period_end + datetime.timedelta(days=1)
            renewal = relativedelta(months=contract.plan.renewal_term_months)
            ends = next_start + renewal - datetime.timedelta(days=1)
    increases = PriceIncrease.objects.for_company(contract.company_id).filter(
        contract=contract, plan_id=contract.plan_id, effective_on__gt=today
    )
    return ContractSummary(
        price=price_for_period(contract=contract, period_start=today),
        next_renewal=contract.current_period_end + datetime.timedelta(days=1) if running else None,
        notice_deadline=deadline,
        ends_if_terminated_today=ends,
        price_increases=list(increases.order_by("effective_on")),
    )


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
