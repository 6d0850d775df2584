"""Retention rules added with privacy by design: per-company R11 period, R31 contract end,
unconfirmed sign-ups (GD-2). Time-travel tests: each rule just inside and just past its limit."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from billing.models import Contract, Invoice
from companies.models import ApiKey, Company, Membership, Shop, User
from invitations.models import Invitation
from moderation.retention import (
    ended_companies_purge,
    invitations_purge,
    personal_data_purge,
    unconfirmed_signups_purge,
)
from privacy.models import RetentionSettings
from privacy.services import retention_settings_save
from reviews.models import Review
from tests import factories

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def _used(shop, days_ago, now):
    return factories.InvitationFactory(shop=shop, status="rated", used_at=now - days_ago * DAY)


def test_it_keeps_invitation_data_as_long_as_each_company_chose(shop, other_shop):
    """R11: a company's own period (7..90 days) applies to its invitations only; others keep
    the platform default of 30 days. A second run changes nothing."""
    now = timezone.now()
    retention_settings_save(company=shop.company, days=60)
    keep = _used(shop, 59, now)
    purge = _used(shop, 61, now)
    default_keep = _used(other_shop, 29, now)
    default_purge = _used(other_shop, 31, now)

    assert invitations_purge(now=now) == 2
    assert invitations_purge(now=now) == 0

    rows = Invitation.objects.unscoped()
    assert rows.get(pk=keep.pk).email == keep.email
    assert rows.get(pk=purge.pk).email == ""
    assert rows.get(pk=default_keep.pk).email == default_keep.email
    assert rows.get(pk=default_purge.pk).email == ""


def test_it_accepts_a_retention_period_only_within_limits(client, owner, company):
    """R11: the owner sets 7 to 90 days on the Data page; 6 or 91 is a form error."""
    client.force_login(owner)
    for days in (6, 91):
        response = client.post("/backend/data/retention/", {"invitation_retention_days": days})
        assert response.status_code == 400
        assert "invitation_retention_days-error" in response.content.decode()
    assert not RetentionSettings.objects.for_company(company).exists()
    response = client.post("/backend/data/retention/", {"invitation_retention_days": 7})
    assert response.status_code == 302
    assert RetentionSettings.objects.for_company(company).get().invitation_retention_days == 7


def _ended(company, ends_on):
    contract = factories.ContractFactory(
        company=company,
        status=Contract.Status.ENDED,
        starts_on=ends_on - datetime.timedelta(days=365),
        ends_on=ends_on,
        current_period_start=ends_on - datetime.timedelta(days=364),
        current_period_end=ends_on,
    )
    Company.objects.filter(pk=company.pk).update(status=Company.Status.ENDED)
    return contract


def test_it_deletes_an_ended_companys_data_12_months_after_the_contract_end(
    shop, other_shop, owner
):
    """R31, GD-2: reviews and all data go 12 months after the last contract's end; invoices,
    contracts and the company row stay (HGB §257); B is untouched; a second run deletes
    nothing more."""
    company = shop.company
    ends_on = datetime.date(2026, 3, 31)
    contract = _ended(company, ends_on)
    review = factories.ReviewFactory(shop=shop)
    factories.ApiKeyFactory(shop=shop)
    other_review = factories.ReviewFactory(shop=other_shop)
    at = lambda day: timezone.make_aware(datetime.datetime.combine(day, datetime.time(4)))  # noqa: E731

    assert ended_companies_purge(now=at(datetime.date(2027, 3, 31))) == 0
    assert Review.objects.unscoped().filter(pk=review.pk).exists()

    assert ended_companies_purge(now=at(datetime.date(2027, 4, 1))) == 1
    assert not Review.objects.unscoped().filter(company=company).exists()
    assert not Shop.objects.unscoped().filter(company=company).exists()
    assert not ApiKey.objects.unscoped().filter(company=company).exists()
    assert not Membership.objects.unscoped().filter(company=company).exists()
    assert not User.objects.filter(pk=owner.pk).exists()
    assert Contract.objects.unscoped().filter(pk=contract.pk).exists()
    assert Company.objects.filter(pk=company.pk).exists()
    assert Review.objects.unscoped().filter(pk=other_review.pk).exists()
    assert ended_companies_purge(now=at(datetime.date(2027, 4, 2))) == 0


def test_it_keeps_the_invoices_of_an_offboarded_company(shop):
    """R31, HGB §257: invoice rows survive the offboarding."""
    from billing.services import invoice_issue_for_period

    contract = factories.ContractFactory(company=shop.company)
    contract.status = Contract.Status.ACTIVE
    contract.current_period_start = contract.starts_on
    contract.current_period_end = contract.starts_on + datetime.timedelta(days=364)
    contract.save()
    invoice_issue_for_period(
        contract=contract, period_start=contract.starts_on, issued_on=contract.starts_on
    )
    Contract.objects.for_company(shop.company).update(
        status=Contract.Status.ENDED, ends_on=datetime.date(2026, 6, 30)
    )
    Company.objects.filter(pk=shop.company_id).update(status=Company.Status.ENDED)

    later = timezone.make_aware(datetime.datetime(2027, 8, 1, 4))
    assert personal_data_purge(later)["ended_companies"] == 1
    assert Invoice.objects.for_company(shop.company).count() == 1


def test_it_keeps_a_company_with_a_running_contract(shop):
    """R31: an active company is never offboarded, however old its data."""
    factories.ContractFactory(company=shop.company, ends_on=datetime.date(2020, 1, 31))
    review = factories.ReviewFactory(shop=shop)
    later = timezone.now() + datetime.timedelta(days=3000)
    assert ended_companies_purge(now=later) == 0
    assert Review.objects.unscoped().filter(pk=review.pk).exists()


def _signup(email, joined):
    user = factories.UserFactory(email=email, email_confirmed_at=None, is_active=False)
    User.objects.filter(pk=user.pk).update(date_joined=joined)
    company = factories.CompanyFactory(name=f"Signup {email}")
    factories.MembershipFactory(company=company, user=user, role="owner")
    return user, company


def test_it_deletes_unconfirmed_signups_after_7_days(company, owner):
    """Sign-ups never confirmed go after 7 days with their company; a confirmed company keeps
    its unconfirmed invitee; a second run deletes nothing more."""
    now = timezone.now()
    stale_user, stale_company = _signup("stale-signup@example.test", now - 8 * DAY)
    fresh_user, fresh_company = _signup("fresh-signup@example.test", now - 6 * DAY)
    invitee = factories.UserFactory(email="invitee@example.test", email_confirmed_at=None)
    User.objects.filter(pk=invitee.pk).update(date_joined=now - 30 * DAY)
    factories.MembershipFactory(company=company, user=invitee, role="viewer")

    assert unconfirmed_signups_purge(now=now) >= 1
    assert unconfirmed_signups_purge(now=now) == 0

    assert not User.objects.filter(pk=stale_user.pk).exists()
    assert not Company.objects.filter(pk=stale_company.pk).exists()
    assert User.objects.filter(pk=fresh_user.pk).exists()
    assert Company.objects.filter(pk=fresh_company.pk).exists()
    assert User.objects.filter(pk=invitee.pk).exists()
    assert User.objects.filter(pk=owner.pk).exists()
