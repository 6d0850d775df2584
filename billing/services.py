"""Billing services: contracts, renewals, terminations and invoices (R31-R34, R39).

Overage (R37) lives in ``billing.overage``, price increases (R38) in ``billing.pricing``,
upgrades (R40) in ``billing.upgrades``, the PDF/e-invoice in ``billing.documents``; collections
and dunning (R35, R36) in the ``payments`` app.
"""

from __future__ import annotations

import datetime
import logging
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone

from billing.models import Contract, Invoice, InvoiceLine, InvoiceNumberCounter, Plan
from billing.selectors import contract_notice_deadline
from companies.countries import EU_COUNTRIES
from companies.models import Company, Shop

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
DE_VAT_RATE = Decimal("19.00")
REVERSE_CHARGE_NOTE = "Steuerschuldnerschaft des Leistungsempfängers / Reverse charge"
DAMAGES_NOTE = (
    "Nicht steuerbarer Schadensersatz bzw. Verzugszinsen / "
    "Damages and default interest, not subject to VAT"
)
START_AFTER = datetime.timedelta(weeks=4)


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _term_end(start: datetime.date, months: int) -> datetime.date:
    """Last day (inclusive) of a term of ``months`` calendar months starting on ``start``.

    BGB §188(2): the day before the corresponding day; §188(3): when the last month has no
    corresponding day (a start on 31 January or on 29 February), its last day. So a year from
    29 Feb 2028 ends on 28 Feb 2029 and a month from 31 January on the last day of February."""
    target = start + relativedelta(months=months)
    if target.day != start.day:  # relativedelta clamped to the month's last day
        return target
    return target - datetime.timedelta(days=1)


def contract_conclude(*, company: Company, plan: Plan, concluded_on: datetime.date) -> Contract:
    contract = Contract(company=company, plan=plan, concluded_on=concluded_on)
    contract.starts_on = contract_start_date(contract=contract)
    contract.save()
    return contract


def contract_start_date(*, contract: Contract) -> datetime.date:
    """R32: the first order of any of the company's shops, or four weeks after conclusion,
    whichever comes first."""
    latest = contract.concluded_on + START_AFTER
    first_order = (
        Shop.objects.for_company(contract.company_id)
        .filter(went_live_at__isnull=False)
        .aggregate(first=Min("went_live_at"))["first"]
    )
    if first_order is None:
        return latest
    first_day = timezone.localdate(first_order)
    return max(contract.concluded_on, min(first_day, latest))


def contract_current(*, company: Company | int) -> Contract | None:
    """The contract the backend shows: the newest one still running, else the newest."""
    contracts = Contract.objects.for_company(company).select_related("plan")
    running = contracts.exclude(status=Contract.Status.ENDED).order_by("-concluded_on", "-pk")
    return running.first() or contracts.order_by("-concluded_on", "-pk").first()


def contract_terminate(
    *,
    contract: Contract,
    requested_on: datetime.date,
    reason: str = "",
    kind: str = Contract.TerminationKind.CUSTOMER,
) -> Contract:
    """R33: effective at the end of the term if the notice period is kept, else at the end of
    the following (renewal) term. Asking twice keeps the first answer. The company's owners
    get a confirmation in text form (004 §13.5)."""
    if contract.status in (Contract.Status.TERMINATED, Contract.Status.ENDED):
        return contract
    if contract.status == Contract.Status.PENDING:
        _contract_start(contract)
    deadline = contract_notice_deadline(contract=contract)
    if requested_on <= deadline:
        ends_on = contract.current_period_end
    else:
        next_start = contract.current_period_end + datetime.timedelta(days=1)
        ends_on = _term_end(next_start, contract.plan.renewal_term_months)
    contract.status = Contract.Status.TERMINATED
    contract.termination_requested_on = requested_on
    contract.termination_kind = kind
    contract.termination_reason = reason.strip()[:500]
    contract.ends_on = ends_on
    contract.save()
    contract_id = contract.pk
    transaction.on_commit(lambda: _tasks().send_termination_confirmation.delay(contract_id))
    return contract


def _tasks():
    from billing import tasks  # the tasks import this module

    return tasks


def contract_terminate_extraordinary(
    *,
    contract: Contract,
    reason: str,
    today: datetime.date,
    actor=None,
    enforcement_reason: str = "payment_default",
) -> Contract:
    """R39 (004 §13.6): end the contract today for good cause, e.g. two months overdue.

    The rest of the chargeable period falls due at once: every billing period up to the end of
    the current term (or of the notice term when already terminated) that has no invoice yet is
    charged on one charge invoice (key ``termination-remainder:<contract>``). R30 then applies to
    every shop (widget and certificate page off, no new ratings, seal withdrawn) and the backend
    is blocked, each logged with ``reason``; the company ends with its last contract (R31).
    Calling it again changes nothing."""
    from billing.overage import overage_bill

    if not reason.strip():
        raise ValueError("an extraordinary termination needs a reason")
    with transaction.atomic():
        contract = (
            Contract.objects.for_company(contract.company_id)
            .select_for_update()
            .select_related("plan")
            .get(pk=contract.pk)
        )
        if contract.status == Contract.Status.ENDED:
            return contract
        if contract.status == Contract.Status.PENDING:
            _contract_start(contract)
        _charge_remainder(contract, today)
        contract.status = Contract.Status.ENDED
        contract.termination_kind = Contract.TerminationKind.EXTRAORDINARY
        contract.termination_reason = reason.strip()[:500]
        contract.termination_requested_on = today
        contract.ends_on = today
        contract.save()
        # The run skips ended contracts: the overage up to today is billed now (R37).
        overage_bill(contract=contract, today=today + datetime.timedelta(days=1), issued_on=today)
        _enforce_r30(contract.company_id, actor, enforcement_reason, reason.strip())
        _company_end_if_last(contract.company_id)
    return contract


def _charge_remainder(contract: Contract, today: datetime.date) -> Invoice | None:
    from billing.pricing import price_for_period

    last_day = contract.current_period_end
    if contract.status == Contract.Status.TERMINATED and contract.ends_on:
        last_day = contract.ends_on
    issued = _issued_period_starts(contract)
    lines = []
    for start in _period_starts(contract, last_day):
        if start in issued:
            continue
        end = min(_period_end(contract, start), last_day)
        price = price_for_period(contract=contract, period_start=start)
        text = f"{contract.plan.name}: {start:%d.%m.%Y}-{end:%d.%m.%Y} (due on termination)"
        lines.append((text, Decimal(1), price))
    if not lines:
        return None
    return charge_invoice_issue(
        contract=contract,
        key=f"termination-remainder:{contract.pk}",
        lines=lines,
        issued_on=today,
        period=(today, last_day),
        reason="Extraordinary termination (004 §13.6): the rest of the period is due.",
    )


def _enforce_r30(company_id: int, actor, enforcement_reason: str, justification: str) -> None:
    from moderation.enforcement import shop_enforce
    from moderation.models import ModerationLogEntry
    from moderation.services import ModerationError

    action = ModerationLogEntry.Action
    shop_actions = (action.PUBLIC_PAGES_DISABLE, action.RATINGS_STOP, action.SEAL_WITHDRAW)
    shop_ids = list(
        Shop.objects.for_company(company_id).order_by("pk").values_list("pk", flat=True)
    )
    for index, shop_id in enumerate(shop_ids):
        for name in shop_actions + ((action.COMPANY_BLOCK,) if index == 0 else ()):
            try:
                shop_enforce(
                    shop_id=shop_id,
                    actor=actor,
                    action=name,
                    reason=enforcement_reason,
                    justification=justification,
                )
            except ModerationError:  # in that state already
                continue
    if not shop_ids:
        Company.objects.filter(pk=company_id, status=Company.Status.ACTIVE).update(
            status=Company.Status.BLOCKED
        )


def _contract_start(contract: Contract) -> None:
    contract.status = Contract.Status.ACTIVE
    contract.current_period_start = contract.starts_on
    contract.current_period_end = _term_end(contract.starts_on, contract.plan.minimum_term_months)


def _vat(company: Company) -> tuple[str, Decimal, str]:
    """The VAT treatment of a buyer (R34; the seller is in Germany).

    - Germany: German VAT, 19 %.
    - Another EU country with a VAT ID: reverse charge (§ 13b UStG, Art. 196 VAT Directive),
      0 % with the legal note; the buyer accounts for the VAT.
    - Another EU country without a VAT ID: German VAT. Decided: a buyer that gives no VAT ID is
      treated like a consumer, for whom the place of supply is Germany (§ 3a(1) UStG); the
      business place-of-supply rule (§ 3a(2) UStG) needs the ID as proof of business status.
    - Outside the EU: not taxable in Germany (§ 3a(2) UStG), 0 %, category O in the e-invoice.
    """
    if company.country == "DE":
        return Invoice.VatTreatment.DE_VAT, DE_VAT_RATE, ""
    if company.country in EU_COUNTRIES:
        if company.vat_id:
            return Invoice.VatTreatment.REVERSE_CHARGE, Decimal("0.00"), REVERSE_CHARGE_NOTE
        return Invoice.VatTreatment.DE_VAT, DE_VAT_RATE, ""
    return Invoice.VatTreatment.NO_VAT, Decimal("0.00"), ""


def _next_number(year: int) -> str:
    """Gapless per year: the counter row is locked until the invoice's transaction commits."""
    InvoiceNumberCounter.objects.get_or_create(year=year)
    counter = InvoiceNumberCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{year}-{counter.last_number:06d}"


def _buyer_address(company: Company) -> str:
    return "\n".join(
        part
        for part in (
            company.street,
            f"{company.postal_code} {company.city}".strip(),
            company.country,
        )
        if part
    )


def _issue(
    *,
    contract: Contract,
    lines: list[tuple[str, Decimal, Decimal]],
    issued_on: datetime.date,
    period: tuple[datetime.date, datetime.date],
    kind: str = Invoice.Kind.INVOICE,
    corrects: Invoice | None = None,
    reason: str = "",
    charge_key: str = "",
    damages: bool = False,
) -> Invoice:
    company = Company.objects.get(pk=contract.company_id)
    treatment, rate, note = _vat(company)
    if damages:  # no supply, no VAT (UStAE 1.3): return-debit and late fees, default interest
        treatment, rate, note = Invoice.VatTreatment.DAMAGES, Decimal("0.00"), DAMAGES_NOTE
    if corrects is not None:  # a credit note keeps the corrected invoice's treatment
        treatment, rate, note = corrects.vat_treatment, corrects.vat_rate, corrects.legal_note
    rows = [(text, qty, price, money(qty * price)) for text, qty, price in lines]
    net = sum((row[3] for row in rows), Decimal("0.00"))
    vat = money(net * rate / 100)
    with transaction.atomic():
        invoice = Invoice(
            company=company,
            contract=contract,
            kind=kind,
            corrects=corrects,
            number=_next_number(issued_on.year),
            issued_on=issued_on,
            period_start=period[0],
            period_end=period[1],
            net=net,
            vat_rate=rate,
            vat=vat,
            gross=net + vat,
            vat_treatment=treatment,
            legal_note=note,
            reason=reason,
            buyer_name=company.name,
            buyer_address=_buyer_address(company),
            buyer_vat_id=company.vat_id,
            charge_key=charge_key,
        )
        invoice.save()
        invoice_id = invoice.pk
        transaction.on_commit(lambda: _tasks().send_invoice_email.delay(invoice_id))
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                company=company,
                invoice=invoice,
                description=text,
                quantity=qty,
                unit_price=price,
                net=amount,
            )
            for text, qty, price, amount in rows
        )
    return invoice


def invoice_issue_for_period(
    *, contract: Contract, period_start: datetime.date, issued_on: datetime.date | None = None
) -> Invoice:
    """R34: the whole billing period in advance. One invoice per contract period: a second call
    returns the first invoice."""
    existing = (
        Invoice.objects.for_company(contract.company_id)
        .filter(contract=contract, kind=Invoice.Kind.INVOICE, period_start=period_start)
        .first()
    )
    if existing is not None:
        return existing
    from billing.pricing import price_for_period

    plan = contract.plan
    period_end = _period_end(contract, period_start)
    lines = [
        (
            f"{plan.name}: {period_start:%d.%m.%Y}-{period_end:%d.%m.%Y}",
            Decimal(1),
            price_for_period(contract=contract, period_start=period_start),
        )
    ]
    if period_start == contract.starts_on and plan.setup_fee:
        lines.append(("Setup fee", Decimal(1), plan.setup_fee))
    try:
        with transaction.atomic():
            return _issue(
                contract=contract,
                lines=lines,
                issued_on=issued_on or timezone.localdate(),
                period=(period_start, period_end),
            )
    except IntegrityError:  # issued concurrently: the unique constraint kept it to one
        return Invoice.objects.for_company(contract.company_id).get(
            contract=contract, kind=Invoice.Kind.INVOICE, period_start=period_start
        )


def charge_invoice_issue(
    *,
    contract: Contract,
    key: str,
    lines: list[tuple[str, Decimal, Decimal]],
    issued_on: datetime.date,
    period: tuple[datetime.date, datetime.date] | None = None,
    reason: str = "",
    damages: bool = False,
) -> Invoice:
    """An invoice for charges outside the plan's price (fees R36, interest, overage R37, handling
    fees R47), as (description, quantity, unit net price) lines. ``key`` names what it charges,
    e.g. ``return-fee:<payment id>``: a second call with the same key returns the first invoice.
    ``damages`` marks lump-sum damages and default interest (R36), which carry no VAT."""
    existing = Invoice.objects.for_company(contract.company_id).filter(charge_key=key).first()
    if existing is not None:
        return existing
    if not key or not lines:
        raise ValueError("a charge needs a key and at least one line")
    try:
        with transaction.atomic():
            return _issue(
                contract=contract,
                lines=lines,
                issued_on=issued_on,
                period=period or (issued_on, issued_on),
                kind=Invoice.Kind.CHARGE,
                reason=reason,
                charge_key=key,
                damages=damages,
            )
    except IntegrityError:  # issued concurrently: the unique constraint kept it to one
        return Invoice.objects.for_company(contract.company_id).get(charge_key=key)


def credit_note_issue(
    *, invoice: Invoice, reason: str, issued_on: datetime.date | None = None
) -> Invoice:
    """Cancel an issued invoice in full with a credit note that names it and the reason."""
    contract = Contract.objects.for_company(invoice.company_id).get(pk=invoice.contract_id)
    lines = [
        (f"Credit for {invoice.number}: {line.description}", line.quantity, -line.unit_price)
        for line in InvoiceLine.objects.for_company(invoice.company_id).filter(invoice=invoice)
    ]
    return _issue(
        contract=contract,
        lines=lines,
        issued_on=issued_on or timezone.localdate(),
        period=(invoice.period_start, invoice.period_end),
        kind=Invoice.Kind.CREDIT_NOTE,
        corrects=invoice,
        reason=reason,
    )


def _periods(contract: Contract):
    """The billing periods (start, end) from ``billed_from`` (after an upgrade, R40) or the
    contract's start, without end. Months count from that anchor (BGB §188), so the periods
    tile each term exactly: from 31 Jan they run 31.01-28.02, 01.03-30.03, 31.03-29.04, ..."""
    anchor = contract.billed_from or contract.starts_on
    step = contract.plan.period_months
    start = anchor
    index = 1
    while True:
        end = _term_end(anchor, step * index)
        yield start, end
        start, index = end + datetime.timedelta(days=1), index + 1


def _period_starts(contract: Contract, last: datetime.date):
    """Starts of the billing periods up to ``last``."""
    for start, _end in _periods(contract):
        if start > last:
            return
        yield start


def _period_end(contract: Contract, period_start: datetime.date) -> datetime.date:
    """The end of the billing period starting on ``period_start`` (off the grid: one period)."""
    if contract.starts_on and period_start >= (contract.billed_from or contract.starts_on):
        for start, end in _periods(contract):
            if start == period_start:
                return end
            if start > period_start:
                break
    return _term_end(period_start, contract.plan.period_months)


def _issued_period_starts(contract: Contract) -> set[datetime.date]:
    return set(
        Invoice.objects.for_company(contract.company_id)
        .filter(contract=contract, kind=Invoice.Kind.INVOICE)
        .values_list("period_start", flat=True)
    )


def _billing_periods(contract: Contract, today: datetime.date):
    """Starts of the billing periods due by ``today`` (R34: invoiced in advance)."""
    last = min(today, contract.ends_on or contract.current_period_end, contract.current_period_end)
    yield from _period_starts(contract, last)


def _contract_run(contract: Contract, today: datetime.date) -> int:
    actions = 0
    with transaction.atomic():
        contract = (
            Contract.objects.for_company(contract.company_id)
            .select_for_update()
            .get(pk=contract.pk)
        )
        if contract.status == Contract.Status.PENDING:
            # R32: a shop's first order since conclusion may have brought the start forward.
            contract.starts_on = contract_start_date(contract=contract)
            if contract.starts_on > today:
                return 0
            _contract_start(contract)
            contract.save()
            actions += 1
        # R33: renew term by term until today lies in the current term (or the contract ends).
        while contract.current_period_end < today and (
            contract.ends_on is None or contract.ends_on > contract.current_period_end
        ):
            contract.current_period_start = contract.current_period_end + datetime.timedelta(1)
            contract.current_period_end = _term_end(
                contract.current_period_start, contract.plan.renewal_term_months
            )
            contract.save()
            actions += 1
    issued = _issued_period_starts(contract)
    for period_start in _billing_periods(contract, today):
        if period_start not in issued:
            invoice_issue_for_period(contract=contract, period_start=period_start, issued_on=today)
            actions += 1
    if contract.status == Contract.Status.TERMINATED and contract.ends_on < today:
        contract.status = Contract.Status.ENDED
        contract.save(update_fields=["status", "updated_at"])
        actions += 1
        _company_end_if_last(contract.company_id)
    return actions


def _company_end_if_last(company_id: int) -> None:
    """R31: the company ends when its last contract ends."""
    running = Contract.objects.for_company(company_id).exclude(status=Contract.Status.ENDED)
    if not running.exists():
        Company.objects.filter(pk=company_id).update(status=Company.Status.ENDED)


def billing_run(*, today: datetime.date | None = None) -> int:
    """The daily billing run: start, renew, invoice, bill last month's overage (R37), end.
    Safe to run twice a day: every step is keyed by period, month or status."""
    from billing.overage import overage_bill

    today = today or timezone.localdate()
    # The daily run crosses tenants deliberately: every company's contracts are due.
    contracts = (
        Contract.objects.unscoped().exclude(status=Contract.Status.ENDED).select_related("plan")
    )
    actions = 0
    for contract in contracts.order_by("pk"):
        actions += _contract_run(contract, today)
        actions += overage_bill(contract=contract, today=today)
    logger.info("billing run %s: %d actions", today, actions)
    return actions
