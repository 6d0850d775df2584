"""Upgrades to a higher plan (R40, 001 §5.3).

The higher plan starts at once: a new term of its minimum length begins on the upgrade day and
is invoiced in advance, in full, on one invoice (a charge keyed
``upgrade:<contract>:<date>:<plan>``, because its period may start on the day an old-plan
period started). The unused prepaid part of the old plan is credited with a credit note per
prepaid invoice, pro rata by days:

    credit = plan line's net × unused days ÷ days of the invoiced period

counting the upgrade day itself as unused, rounded half up to the cent once per credit note;
the VAT of the credit note is computed on that rounded net, as on every invoice. A setup fee is
never credited and the new plan charges none.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from billing import services
from billing.models import Contract, Invoice, InvoiceLine, Plan
from billing.pricing import price_for_period


def monthly_price(plan: Plan) -> Decimal:
    return plan.price_per_period / plan.period_months


def upgrade_plans(*, contract: Contract, today: datetime.date) -> list[Plan]:
    """The plans offered for an upgrade: offered ones that cost more per month."""
    if contract.status != Contract.Status.ACTIVE:
        return []
    current = price_for_period(contract=contract, period_start=today) / contract.plan.period_months
    offered = Plan.objects.filter(upgrade_offer=True).exclude(pk=contract.plan_id)
    return [plan for plan in offered.order_by("price_per_period") if monthly_price(plan) > current]


def _prorata(invoice: Invoice, line: InvoiceLine, today: datetime.date) -> tuple[int, int, Decimal]:
    total = (invoice.period_end - invoice.period_start).days + 1
    unused = (invoice.period_end - max(today, invoice.period_start)).days + 1
    return unused, total, services.money(line.net * unused / total)


def _credit_unused(contract: Contract, plan: Plan, today: datetime.date) -> list[Invoice]:
    company_id = contract.company_id
    invoices = Invoice.objects.for_company(company_id).filter(
        Q(kind=Invoice.Kind.INVOICE) | Q(charge_key__startswith=f"upgrade:{contract.pk}:"),
        contract=contract,
        period_end__gte=today,
    )
    credited = set(
        Invoice.objects.for_company(company_id)
        .filter(kind=Invoice.Kind.CREDIT_NOTE, corrects__in=invoices)
        .values_list("corrects_id", flat=True)
    )
    notes = []
    for invoice in invoices.order_by("period_start"):
        if invoice.pk in credited:
            continue
        line = InvoiceLine.objects.for_company(company_id).filter(invoice=invoice).first()
        unused, total, amount = _prorata(invoice, line, today)
        if amount <= 0:
            continue
        text = (
            f"Unused part of {invoice.number}: {max(today, invoice.period_start):%d.%m.%Y}-"
            f"{invoice.period_end:%d.%m.%Y} ({unused}/{total} days of {line.description})"
        )
        notes.append(
            services._issue(
                contract=contract,
                lines=[(text, Decimal(1), -amount)],
                issued_on=today,
                period=(max(today, invoice.period_start), invoice.period_end),
                kind=Invoice.Kind.CREDIT_NOTE,
                corrects=invoice,
                reason=f"Upgrade to {plan.name} (R40)",
            )
        )
    return notes


def contract_upgrade(*, contract: Contract, plan: Plan, today: datetime.date) -> Invoice:
    """R40: move a running contract to a higher plan today; returns the upgrade invoice."""
    with transaction.atomic():
        contract = (
            Contract.objects.for_company(contract.company_id)
            .select_for_update()
            .select_related("plan")
            .get(pk=contract.pk)
        )
        if contract.status != Contract.Status.ACTIVE:
            raise ValidationError("R40: only a running, not terminated contract can be upgraded.")
        current = price_for_period(contract=contract, period_start=today)
        if monthly_price(plan) <= current / contract.plan.period_months:
            raise ValidationError("R40: an upgrade must be to a plan that costs more per month.")
        _credit_unused(contract, plan, today)
        end = services._term_end(today, plan.minimum_term_months)
        periods = Decimal(plan.minimum_term_months) / Decimal(plan.period_months)
        invoice = services.charge_invoice_issue(
            contract=contract,
            key=f"upgrade:{contract.pk}:{today:%Y-%m-%d}:{plan.pk}",
            lines=[
                (f"{plan.name}: {today:%d.%m.%Y}-{end:%d.%m.%Y}", periods, plan.price_per_period)
            ],
            issued_on=today,
            period=(today, end),
            reason=f"Upgrade from {contract.plan.name} (R40)",
        )
        contract.plan = plan
        contract.current_period_start = today
        contract.current_period_end = end
        contract.billed_from = end + datetime.timedelta(days=1)
        contract.save()
    return invoice
