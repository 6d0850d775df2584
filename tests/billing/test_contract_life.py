"""Contract lives across time: month ends, leap years, overage, price increases, upgrades and
extraordinary terminations, each amount to the cent (R33, R34, R37-R40)."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from billing import pricing, selectors, services, upgrades
from billing.models import Contract, Invoice, InvoiceLine, PriceIncrease
from companies.models import Company, Role, SealState, Shop
from invitations.models import InvitationEmail
from moderation.models import ModerationLogEntry
from tests import factories

pytestmark = pytest.mark.django_db
D = datetime.date
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")  # the billing months are Berlin's (settings)


def _active(company, start, **plan):
    contract = factories.ContractFactory(
        company=company, plan=factories.PlanFactory(**plan), starts_on=start
    )
    services.billing_run(today=start)
    contract.refresh_from_db()
    return contract


def _invoices(company, kind=Invoice.Kind.INVOICE):
    return list(
        Invoice.objects.for_company(company).filter(kind=kind).order_by("period_start", "pk")
    )


def test_it_tiles_a_leap_day_contract_year_exactly(company):
    """R33/R34: from 29 Feb 2028 the year ends on 28 Feb 2029 (BGB §188(3)); twelve monthly
    invoices cover its 366 days without gap or overlap; the renewal starts on 1 March. The
    daily run, run twice every day, issues nothing twice."""
    contract = _active(company, D(2028, 2, 29))
    assert contract.current_period_end == D(2029, 2, 28)
    assert selectors.contract_notice_deadline(contract=contract) == D(2029, 1, 31)
    day = D(2028, 2, 29)
    while day <= D(2029, 3, 1):
        services.billing_run(today=day)
        assert services.billing_run(today=day) == 0  # twice a day: nothing twice
        day += datetime.timedelta(days=1)
    invoices = _invoices(company)
    assert len(invoices) == 13
    first_year = invoices[:12]
    assert [(i.period_start, i.period_end) for i in first_year[:3]] == [
        (D(2028, 2, 29), D(2028, 3, 28)),
        (D(2028, 3, 29), D(2028, 4, 28)),
        (D(2028, 4, 29), D(2028, 5, 28)),
    ]
    for previous, current in zip(first_year, first_year[1:], strict=False):
        assert current.period_start == previous.period_end + datetime.timedelta(days=1)
    assert first_year[-1].period_end == D(2029, 2, 28)
    assert invoices[12].period_start == D(2029, 3, 1)
    assert {(i.net, i.vat, i.gross) for i in invoices} == {
        (Decimal("99.90"), Decimal("18.98"), Decimal("118.88"))
    }
    contract.refresh_from_db()
    assert (contract.current_period_start, contract.current_period_end) == (
        D(2029, 3, 1),
        D(2030, 2, 28),
    )


def test_it_ends_a_month_from_the_31st_on_the_last_day_of_february(company):
    """R33: a monthly plan started on 31 January runs to 28 February, renews on 1 March."""
    contract = _active(
        company,
        D(2027, 1, 31),
        minimum_term_months=1,
        renewal_term_months=1,
        notice_period=14,
        notice_unit="days",
    )
    assert contract.current_period_end == D(2027, 2, 28)
    assert selectors.contract_notice_deadline(contract=contract) == D(2027, 2, 14)
    services.billing_run(today=D(2027, 3, 1))
    services.billing_run(today=D(2027, 3, 1))
    assert [(i.period_start, i.period_end) for i in _invoices(company)] == [
        (D(2027, 1, 31), D(2027, 2, 28)),
        (D(2027, 3, 1), D(2027, 3, 30)),
    ]


def _email(shop, sent_at, kind=InvitationEmail.Kind.INVITATION):
    invitation = factories.InvitationFactory(shop=shop)
    return InvitationEmail.objects.for_company(shop.company_id).create(
        company=shop.company,
        shop=shop,
        invitation=invitation,
        kind=kind,
        status=InvitationEmail.Status.SENT,
        message_id=f"<{invitation.pk}-{kind}@test>",
        sent_at=sent_at,
    )


def test_it_bills_overage_once_at_the_end_of_the_month(company, shop, other_shop):
    """R37: invitations beyond the included volume, counted in Berlin's calendar month,
    reminders and other companies not counted, charged once however often the run repeats."""
    contract = _active(
        company,
        D(2026, 2, 1),
        included_invitations_per_month=2,
        overage_price=Decimal("0.4950"),
    )
    march = datetime.datetime(2026, 3, 10, 12, tzinfo=BERLIN)
    for _ in range(4):
        _email(shop, march)
    _email(shop, datetime.datetime(2026, 3, 31, 23, 30, tzinfo=BERLIN))  # still March
    _email(shop, datetime.datetime(2026, 4, 1, 0, 30, tzinfo=BERLIN))  # April
    _email(shop, march, kind=InvitationEmail.Kind.REMINDER_1)
    _email(other_shop, march)

    services.billing_run(today=D(2026, 3, 31))
    assert _invoices(company, Invoice.Kind.CHARGE) == []
    services.billing_run(today=D(2026, 4, 1))
    services.billing_run(today=D(2026, 4, 1))
    services.billing_run(today=D(2026, 4, 2))

    (charge,) = _invoices(company, Invoice.Kind.CHARGE)
    assert charge.charge_key == f"overage:{contract.pk}:2026-03"
    line = InvoiceLine.objects.for_company(company).get(invoice=charge)
    assert (line.quantity, line.unit_price, line.net) == (
        Decimal(3),
        Decimal("0.4950"),
        Decimal("1.49"),
    )
    assert (charge.net, charge.vat, charge.gross) == (
        Decimal("1.49"),
        Decimal("0.28"),
        Decimal("1.77"),
    )
    assert (charge.period_start, charge.period_end) == (D(2026, 3, 1), D(2026, 3, 31))
    assert _invoices(other_shop.company, Invoice.Kind.CHARGE) == []


def test_it_bills_no_overage_within_the_included_volume(company, shop):
    """R37: at or below the included volume nothing is charged."""
    _active(company, D(2026, 2, 1), included_invitations_per_month=2, overage_price=Decimal(1))
    _email(shop, datetime.datetime(2026, 2, 3, 9, tzinfo=BERLIN))
    _email(shop, datetime.datetime(2026, 2, 4, 9, tzinfo=BERLIN))
    services.billing_run(today=D(2026, 3, 1))
    assert _invoices(company, Invoice.Kind.CHARGE) == []


@pytest.mark.parametrize(
    ("new_price", "effective_on", "code"),
    [
        (Decimal("104.90"), D(2026, 4, 1), "too_high"),  # 5.005 %
        (Decimal("104.89"), D(2026, 3, 28), "too_soon"),  # 27 days ahead
        (Decimal("99.90"), D(2026, 4, 1), "not_increase"),
    ],
)
def test_it_refuses_a_price_increase_against_the_rule(company, new_price, effective_on, code):
    """R38: more than 5 %, less than four weeks ahead, or no increase: refused, naming R38."""
    contract = _active(company, D(2026, 2, 1))
    with pytest.raises(ValidationError) as refused:
        pricing.price_increase_schedule(
            contract=contract, new_price=new_price, effective_on=effective_on, today=D(2026, 3, 1)
        )
    assert refused.value.code == code
    assert "R38" in refused.value.messages[0]
    assert not PriceIncrease.objects.for_company(company).exists()


def test_it_raises_the_price_once_per_contract_year_and_tells_the_owners(
    company, owner, eager, django_capture_on_commit_callbacks
):
    """R38: ≤ 5 %, ≥ 4 weeks ahead, once per contract year; invoices of periods starting on or
    after the effective day carry the new price; the owners are emailed."""
    contract = _active(company, D(2026, 2, 1))
    with django_capture_on_commit_callbacks(execute=True):
        pricing.price_increase_schedule(
            contract=contract,
            new_price=Decimal("104.89"),
            effective_on=D(2026, 3, 29),
            today=D(2026, 3, 1),
        )
    (notice,) = [m for m in mail.outbox if "104.89" in m.body]
    assert notice.to == [owner.email] and "29.03.2026" in notice.body
    with pytest.raises(ValidationError) as again:
        pricing.price_increase_schedule(
            contract=contract,
            new_price=Decimal("106.00"),
            effective_on=D(2027, 1, 31),
            today=D(2026, 5, 1),
        )
    assert again.value.code == "once_per_year"
    pricing.price_increase_schedule(  # the second contract year starts on 1 Feb 2027
        contract=contract,
        new_price=Decimal("110.13"),
        effective_on=D(2027, 2, 1),
        today=D(2026, 5, 1),
    )
    services.billing_run(today=D(2027, 2, 1))
    prices = {i.period_start: i.net for i in _invoices(company)}
    assert prices[D(2026, 3, 1)] == Decimal("99.90")
    assert prices[D(2026, 4, 1)] == Decimal("104.89")
    assert prices[D(2027, 1, 1)] == Decimal("104.89")
    assert prices[D(2027, 2, 1)] == Decimal("110.13")


def test_it_upgrades_at_once_and_credits_the_unused_days_to_the_cent(company):
    """R40: the higher plan starts today, is invoiced for its minimum term at once; the unused
    21 of March's 31 prepaid days are credited: 99.90 × 21 / 31 = 67.674… → 67.67."""
    contract = _active(company, D(2026, 2, 1))
    services.billing_run(today=D(2026, 3, 1))
    higher = factories.PlanFactory(price_per_period=Decimal("199.00"), upgrade_offer=True)
    assert upgrades.upgrade_plans(contract=contract, today=D(2026, 3, 11)) == [higher]

    invoice = upgrades.contract_upgrade(contract=contract, plan=higher, today=D(2026, 3, 11))

    assert (invoice.net, invoice.vat, invoice.gross) == (
        Decimal("2388.00"),
        Decimal("453.72"),
        Decimal("2841.72"),
    )
    assert (invoice.period_start, invoice.period_end) == (D(2026, 3, 11), D(2027, 3, 10))
    (credit,) = _invoices(company, Invoice.Kind.CREDIT_NOTE)
    march = Invoice.objects.for_company(company).get(period_start=D(2026, 3, 1), kind="invoice")
    assert credit.corrects_id == march.pk
    assert (credit.net, credit.vat, credit.gross) == (
        Decimal("-67.67"),
        Decimal("-12.86"),
        Decimal("-80.53"),
    )
    contract.refresh_from_db()
    assert contract.plan_id == higher.pk
    assert (contract.current_period_start, contract.current_period_end) == (
        D(2026, 3, 11),
        D(2027, 3, 10),
    )
    before = Invoice.objects.for_company(company).count()
    services.billing_run(today=D(2026, 4, 1))
    services.billing_run(today=D(2027, 3, 10))
    assert Invoice.objects.for_company(company).count() == before
    services.billing_run(today=D(2027, 3, 11))
    renewal = Invoice.objects.for_company(company).get(period_start=D(2027, 3, 11), kind="invoice")
    assert (renewal.net, renewal.period_end) == (Decimal("199.00"), D(2027, 4, 10))


def test_it_refuses_an_upgrade_to_a_plan_that_is_not_higher(company):
    """R40: an upgrade must cost more per month; nothing is issued otherwise."""
    contract = _active(company, D(2026, 2, 1))
    yearly = factories.PlanFactory(price_per_period=Decimal("1198.80"), period_months=12)
    with pytest.raises(ValidationError, match="R40"):
        upgrades.contract_upgrade(contract=contract, plan=yearly, today=D(2026, 2, 10))
    assert Invoice.objects.for_company(company).count() == 1


def test_it_terminates_extraordinarily_with_the_rest_due_and_r30(company, shop):
    """R39: the rest of the term falls due on one charge (June to January, 8 × 99.90), the shop's
    public surfaces stop and the seal is withdrawn (R30), the contract and company end."""
    contract = _active(company, D(2026, 2, 1))
    services.billing_run(today=D(2026, 5, 1))

    services.contract_terminate_extraordinary(
        contract=contract, reason="Two months overdue", today=D(2026, 5, 10)
    )
    services.contract_terminate_extraordinary(
        contract=contract, reason="Two months overdue", today=D(2026, 5, 11)
    )

    (charge,) = _invoices(company, Invoice.Kind.CHARGE)
    assert charge.charge_key == f"termination-remainder:{contract.pk}"
    assert (charge.net, charge.vat, charge.gross) == (
        Decimal("799.20"),
        Decimal("151.85"),
        Decimal("951.05"),
    )
    lines = InvoiceLine.objects.for_company(company).filter(invoice=charge)
    assert "01.06.2026-30.06.2026" in lines.first().description
    assert "01.01.2027-31.01.2027" in lines.last().description
    contract.refresh_from_db()
    assert (contract.status, contract.ends_on, contract.termination_kind) == (
        Contract.Status.ENDED,
        D(2026, 5, 10),
        Contract.TerminationKind.EXTRAORDINARY,
    )
    shop = Shop.objects.for_company(company).get(pk=shop.pk)
    assert shop.public_pages_disabled and shop.ratings_stopped
    assert shop.seal_state == SealState.WITHDRAWN
    logged = set(ModerationLogEntry.objects.for_company(company).values_list("action", flat=True))
    assert {"public_pages_disable", "ratings_stop", "seal_withdraw", "company_block"} <= logged
    assert Company.objects.get(pk=company.pk).status == Company.Status.ENDED
    assert services.billing_run(today=D(2026, 6, 1)) == 0


def test_it_terminates_from_the_admin_for_the_customer(client, company, owner):
    """R33: staff enter a termination received by letter; the owner's confirmation follows."""
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.urls import reverse

    from tests.platform.test_admin import admin_login

    admin_login(client, factories.UserFactory(is_staff=True, is_superuser=True))
    contract = _active(company, D(2026, 2, 1))
    url = reverse("admin:billing_contract_changelist")
    form = {"action": "terminate", ACTION_CHECKBOX_NAME: [contract.pk]}
    assert "reason" in client.post(url, form).content.decode()
    done = client.post(url, {**form, "apply": "1", "reason": "Letter of 3 March"})
    assert done.status_code == 302
    contract.refresh_from_db()
    assert contract.status == Contract.Status.TERMINATED
    assert contract.termination_kind == Contract.TerminationKind.STAFF
    assert contract.termination_reason == "Letter of 3 March"
    assert Role.OWNER  # the owner exists; the email itself is tested in test_emails


def test_it_shows_staff_the_rule_when_the_admin_refuses_a_price_increase(client, company):
    """R38: staff schedule increases in the admin; a refused one says which rule it broke."""
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.urls import reverse

    from tests.platform.test_admin import admin_login

    admin_login(client, factories.UserFactory(is_staff=True, is_superuser=True))
    contract = _active(company, D(2026, 2, 1))
    url = reverse("admin:billing_contract_changelist")
    form = {
        "action": "schedule_price_increase",
        ACTION_CHECKBOX_NAME: [contract.pk],
        "apply": "1",
        "new_price": "120.00",
        "effective_on": "2099-01-01",
    }
    refused = client.post(url, form, follow=True).content.decode()
    assert "R38: at most 5 %" in refused
    assert not PriceIncrease.objects.for_company(company).exists()


def test_it_bills_the_last_months_overage_when_the_contract_ends_early(company, shop):
    """R37/R39: an extraordinary termination bills the overage of the month so far at once:
    the run skips ended contracts afterwards."""
    contract = _active(
        company, D(2026, 2, 1), included_invitations_per_month=1, overage_price=Decimal("0.25")
    )
    for day in (2, 3, 4):
        _email(shop, datetime.datetime(2026, 5, day, 10, tzinfo=BERLIN))
    services.contract_terminate_extraordinary(
        contract=contract, reason="Overdue", today=D(2026, 5, 9)
    )
    services.billing_run(today=D(2026, 6, 1))
    overage = Invoice.objects.for_company(company).get(charge_key__startswith="overage:")
    assert (overage.net, overage.issued_on) == (Decimal("0.50"), D(2026, 5, 9))
    assert (overage.period_start, overage.period_end) == (D(2026, 5, 1), D(2026, 5, 9))


def test_it_terminates_extraordinarily_from_the_admin_with_staff_as_actor(client, company, shop):
    """R39: staff end a contract for good cause in the admin; the R30 log names them."""
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.urls import reverse

    from tests.platform.test_admin import admin_login

    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    admin_login(client, staff)
    contract = _active(company, D(2026, 2, 1))
    url = reverse("admin:billing_contract_changelist")
    form = {"action": "terminate_extraordinary", ACTION_CHECKBOX_NAME: [contract.pk]}
    assert client.post(url, {**form, "apply": "1"}).status_code == 200  # a reason is required
    done = client.post(url, {**form, "apply": "1", "reason": "Seal misuse after warning"})
    assert done.status_code == 302
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ENDED
    entry = ModerationLogEntry.objects.for_company(company).get(action="seal_withdraw")
    assert (entry.actor_id, entry.justification) == (staff.pk, "Seal misuse after warning")
