"""Prices of a contract over time and price increases (R38, 004 §14.9).

An increase applies to invoices of billing periods that start on or after its effective date;
it belongs to the contract's plan at the time, so an upgrade (R40) starts from the new plan's
list price.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_DOWN, Decimal

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction

from billing.models import Contract, PriceIncrease

MAX_INCREASE = Decimal("1.05")
ANNOUNCE_AHEAD = datetime.timedelta(weeks=4)


def price_for_period(*, contract: Contract, period_start: datetime.date) -> Decimal:
    """The net price per billing period for the period starting on ``period_start``."""
    increase = (
        PriceIncrease.objects.for_company(contract.company_id)
        .filter(contract=contract, plan_id=contract.plan_id, effective_on__lte=period_start)
        .order_by("-effective_on", "-pk")
        .first()
    )
    return increase.new_price if increase else contract.plan.price_per_period


def contract_year(contract: Contract, day: datetime.date) -> int:
    """0 for the first contract year (from ``starts_on``), 1 for the second, ..."""
    return relativedelta(day, contract.starts_on).years


def _refuse(message: str, code: str) -> None:
    raise ValidationError(message, code=code)


def highest_price(old_price: Decimal) -> Decimal:
    """5 % more, rounded down to the cent, so that the increase never exceeds 5 %."""
    return (old_price * MAX_INCREASE).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def _check_contract(contract: Contract, effective_on: datetime.date) -> None:
    if contract.status not in (Contract.Status.ACTIVE, Contract.Status.TERMINATED):
        _refuse("R38: only a running contract's price can be increased.", "not_running")
    if contract.ends_on and effective_on > contract.ends_on:
        _refuse("R38: the contract ends before the increase would take effect.", "after_end")


def _check(contract: Contract, new_price: Decimal, effective_on, today, old_price) -> None:
    _check_contract(contract, effective_on)
    if effective_on < today + ANNOUNCE_AHEAD:
        _refuse(
            "R38: a price increase must be announced at least 4 weeks ahead "
            f"(effective on {today + ANNOUNCE_AHEAD:%d.%m.%Y} at the earliest).",
            "too_soon",
        )
    if new_price <= old_price:
        _refuse("R38: the new price must be higher than the current price.", "not_increase")
    if new_price > highest_price(old_price):
        _refuse(
            f"R38: at most 5 % per increase: {old_price} may rise to "
            f"{highest_price(old_price)} at most.",
            "too_high",
        )
    year = contract_year(contract, effective_on)
    others = PriceIncrease.objects.for_company(contract.company_id).filter(contract=contract)
    effective_dates = others.values_list("effective_on", flat=True)
    if any(contract_year(contract, other) == year for other in effective_dates):
        _refuse("R38: prices may rise only once per contract year.", "once_per_year")


def price_increase_schedule(
    *,
    contract: Contract,
    new_price: Decimal,
    effective_on: datetime.date,
    today: datetime.date,
) -> PriceIncrease:
    """R38: at most 5 %, once per contract year, announced at least 4 weeks ahead; anything
    else is refused with a ValidationError naming the rule. The owners are told by email."""
    from billing import tasks  # the tasks import the services

    with transaction.atomic():
        contract = (
            Contract.objects.for_company(contract.company_id)
            .select_for_update()
            .select_related("plan")
            .get(pk=contract.pk)
        )
        old_price = price_for_period(contract=contract, period_start=effective_on)
        _check(contract, Decimal(new_price), effective_on, today, old_price)
        increase = PriceIncrease.objects.for_company(contract.company_id).create(
            company_id=contract.company_id,
            contract=contract,
            plan_id=contract.plan_id,
            old_price=old_price,
            new_price=new_price,
            announced_on=today,
            effective_on=effective_on,
        )
        increase_id = increase.pk
        transaction.on_commit(lambda: tasks.send_price_increase_notice.delay(increase_id))
    return increase
