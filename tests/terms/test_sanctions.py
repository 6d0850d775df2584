"""Sanctions: warning, grace period, restriction or block, reinstatement, fees (R47, 001 §8)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, InvoiceLine
from companies.models import Company, Shop
from moderation.models import ModerationLogEntry, Reason
from terms import sanctions
from terms.models import HandlingFee, Sanction, SanctionStep
from terms.services import TermsError
from terms.tasks import send_sanction_step_email
from tests import factories
from tests.dates import local_time
from tests.platform.test_admin import admin_login

pytestmark = pytest.mark.django_db

T0 = timezone.now()
# Noon of the first local day after the 7-day grace period. T0 + 8 × 24 h is still the 7th day
# when T0 is in the hour after midnight and the clocks go back from summer time in between.
AFTER_GRACE = local_time(timezone.localdate(T0) + datetime.timedelta(days=8))


@pytest.fixture
def staff():
    return factories.UserFactory(is_staff=True, is_superuser=True, email="staff@platform.example")


@pytest.fixture
def fees():
    HandlingFee.objects.create(kind=HandlingFee.Kind.BLOCK, amount=Decimal("50.00"))
    HandlingFee.objects.create(kind=HandlingFee.Kind.REINSTATEMENT, amount=Decimal("25.00"))


@pytest.fixture
def contract(company):
    return factories.ContractFactory(company=company)


def _warn(company, staff, callbacks):
    with callbacks(execute=False):
        return sanctions.sanction_warn(
            company=company,
            actor=staff,
            ground=Reason.SEAL_MISUSE,
            breach="The seal is shown on a shop that is not certified.",
            grace_days=7,
            now=T0,
        )


def _mail_steps(company):
    for step in SanctionStep.objects.for_company(company).order_by("pk"):
        send_sanction_step_email(step.pk)


def test_it_goes_from_warning_to_block_to_reinstatement_with_fee_invoices(
    client, company, shop, owner, staff, fees, contract, django_capture_on_commit_callbacks
):
    """R47: warning with a grace period; a block only after it, with the handling fee; the
    reinstatement with its fee; each step recorded with reason and dates and emailed."""
    sanction = _warn(company, staff, django_capture_on_commit_callbacks)
    assert sanction.grace_until == timezone.localdate(T0) + datetime.timedelta(days=7)
    client.force_login(owner)
    page = client.get(reverse("backend:contract")).content.decode()
    assert "The seal is shown on a shop that is not certified." in page

    with pytest.raises(TermsError, match="grace period"):
        sanctions.sanction_block(
            sanction=sanction, actor=staff, reason="Still shown.", charge_fee=True, now=T0
        )
    company.refresh_from_db()
    assert company.status == Company.Status.ACTIVE

    with django_capture_on_commit_callbacks(execute=True):
        block = sanctions.sanction_block(
            sanction=sanction,
            actor=staff,
            reason="The seal is still shown after the grace period.",
            charge_fee=True,
            now=AFTER_GRACE,
        )
    company.refresh_from_db()
    assert company.status == Company.Status.BLOCKED
    assert client.get(reverse("backend:contract")).status_code == 403  # the blocked page
    line = InvoiceLine.objects.for_company(company).get(invoice=block.fee_invoice)
    assert line.net == Decimal("50.00") and "blocking" in line.description
    assert block.fee_invoice.kind == Invoice.Kind.CHARGE
    assert block.fee_invoice.charge_key == f"sanction-fee:{sanction.pk}:block"
    assert (
        ModerationLogEntry.objects.for_company(company)
        .filter(action=ModerationLogEntry.Action.COMPANY_BLOCK)
        .exists()
    )

    with django_capture_on_commit_callbacks(execute=True):
        back = sanctions.sanction_reinstate(
            sanction=sanction, actor=staff, reason="The seal was removed.", charge_fee=True,
            now=AFTER_GRACE + datetime.timedelta(days=1),
        )  # fmt: skip
    company.refresh_from_db()
    assert company.status == Company.Status.ACTIVE
    assert InvoiceLine.objects.for_company(company).get(invoice=back.fee_invoice).net == Decimal(
        "25.00"
    )
    sanction.refresh_from_db()
    assert sanction.stage == Sanction.Stage.CLOSED

    steps = list(SanctionStep.objects.for_company(company).order_by("pk"))
    assert [s.kind for s in steps] == ["warning", "block", "reinstatement"]
    assert all(s.reason and s.taken_at and s.actor == staff for s in steps)
    mail.outbox.clear()
    _mail_steps(company)
    _mail_steps(company)  # safe to run twice
    assert len(mail.outbox) == 3
    warning, blocked, reinstated = mail.outbox
    assert f"{sanction.grace_until:%d/%m/%Y}" in warning.body
    assert block.fee_invoice.number in blocked.body
    assert "reinstated" in reinstated.body and back.fee_invoice.number in reinstated.body
    assert all(m.to == [owner.email] for m in mail.outbox)


def test_it_restricts_partially_and_undoes_only_what_it_did(
    company, shop, staff, contract, django_capture_on_commit_callbacks
):
    """R47, R30: a partial restriction on every shop; reinstatement undoes exactly it and is
    free when nothing was blocked."""
    second = factories.ShopFactory(company=company)
    Shop.objects.for_company(company).filter(pk=second.pk).update(public_pages_disabled=True)
    sanction = _warn(company, staff, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):
        sanctions.sanction_restrict(
            sanction=sanction,
            actor=staff,
            actions=[ModerationLogEntry.Action.RATINGS_STOP, "public_pages_disable"],
            reason="Incentives for good ratings continue.",
            now=AFTER_GRACE,
        )
    states = dict(
        Shop.objects.for_company(company).values_list("pk", "ratings_stopped").order_by("pk")
    )
    assert states == {shop.pk: True, second.pk: True}
    with django_capture_on_commit_callbacks(execute=False):
        step = sanctions.sanction_reinstate(
            sanction=sanction, actor=staff, reason="Incentives ended.", charge_fee=True,
            now=AFTER_GRACE,
        )  # fmt: skip
    assert step.fee_invoice is None
    rows = {
        s.pk: (s.ratings_stopped, s.public_pages_disabled)
        for s in Shop.objects.for_company(company)
    }
    # The second shop's pages were off before the sanction: they stay off.
    assert rows == {shop.pk: (False, False), second.pk: (False, True)}


def test_it_lets_staff_warn_and_block_from_the_admin(
    client, company, shop, owner, staff, fees, contract, django_capture_on_commit_callbacks
):
    """R47: staff warn through the add form and take the next step with the list action."""
    admin_login(client, staff)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("admin:terms_sanction_add"),
            {
                "company": company.pk,
                "ground": Reason.RATING_RULES,
                "breach": "Only happy customers are invited.",
                "grace_days": 1,
            },
        )
    assert response.status_code == 302
    sanction = Sanction.objects.for_company(company).get()
    assert sanction.stage == Sanction.Stage.WARNED
    action = {"action": "take_step", "_selected_action": [sanction.pk]}
    form = client.post(reverse("admin:terms_sanction_changelist"), action)
    assert form.status_code == 200 and b"Take the step" in form.content
    with django_capture_on_commit_callbacks(execute=False):
        client.post(
            reverse("admin:terms_sanction_changelist"),
            {**action, "step": "block", "reason": "Still selective.", "charge_fee": "on"},
        )
    sanction.refresh_from_db()
    assert sanction.stage == Sanction.Stage.WARNED  # the grace period runs until tomorrow
    assert not Invoice.objects.for_company(company).exists()
