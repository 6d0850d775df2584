"""Terms versions through their whole life (R45, 004 §18.6, 001 §13.1)."""

from __future__ import annotations

import datetime

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from companies.models import Company, Role
from terms import services
from terms.models import TermsAcceptance, TermsObjection, TermsVersion
from terms.tasks import announce_terms_version
from tests import factories
from tests.platform.test_admin import admin_login

pytestmark = pytest.mark.django_db

JAN = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC)
MAR = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def _version(kind=TermsVersion.Kind.COMPANY_TERMS, **fields):
    defaults = {
        "version": "2026-01",
        "title": "General terms 2026",
        "body": "§1 The platform collects reviews.",
        "effective_on": datetime.date(2026, 1, 1),
    }
    return TermsVersion.objects.create(kind=kind, **{**defaults, **fields})


@pytest.fixture
def first_terms(company, other_company, owner, other_owner):
    """The terms both companies agreed to when they concluded their contracts."""
    version = services.terms_version_announce(version=_version(), now=JAN)
    for each, user in ((company, owner), (other_company, other_owner)):
        services.terms_accept_current(company=each, user=user, now=JAN)
    return version


def test_it_takes_a_terms_change_through_its_whole_life(
    client, company, other_company, owner, other_owner, first_terms,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """R45: announced by email with the effective date and the objection period, shown in the
    backend, objected to there, seen by staff, and binding the silent company on its date."""
    today = timezone.localdate()
    deadline = today + relativedelta(months=1)  # 004 §18.6: one month
    effective = deadline + datetime.timedelta(days=1)
    change = _version(
        version="next",
        title="General terms, next version",
        summary_of_changes="New rules for photos.",
        effective_on=effective,
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.terms_version_announce(version=change)
    assert len(callbacks) == 1
    assert announce_terms_version(change.pk) == 2
    assert announce_terms_version(change.pk) == 0  # a re-run sends nothing twice
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {owner.email, other_owner.email}
    body = by_recipient[owner.email].body
    assert f"{effective:%d/%m/%Y}" in body and f"{deadline:%d/%m/%Y}" in body
    assert "New rules for photos." in body

    client.force_login(owner)
    overview = client.get(reverse("backend:contract")).content.decode()
    assert "General terms, next version" in overview
    assert f"You may object until {deadline:%d/%m/%Y}" in overview
    response = client.post(
        reverse("backend:contract-terms-object", args=[change.pk]),
        {"remark": "We do not agree with the photo rules."},
    )
    assert response.status_code == 302
    objection = TermsObjection.objects.for_company(company).get()
    assert objection.version == change and objection.objected_by == owner
    assert "Your company objected" in client.get(reverse("backend:contract")).content.decode()

    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    admin_login(client, staff)
    listing = client.get(reverse("admin:terms_termsobjection_changelist")).content.decode()
    assert company.name in listing and other_company.name not in listing

    call_command("apply_terms_versions")  # today: nothing is due yet
    assert services.terms_apply_due(today=deadline) == 0
    assert services.terms_apply_due(today=effective) == 1  # time travel to the effective date
    silent = TermsAcceptance.objects.for_company(other_company).get(version=change)
    assert silent.how == TermsAcceptance.How.NO_OBJECTION
    assert timezone.localtime(silent.accepted_at).date() == effective
    assert not TermsAcceptance.objects.for_company(company).filter(version=change).exists()
    assert services.terms_apply_due(today=effective) == 0  # safe to run twice


def test_it_refuses_an_effective_date_inside_the_objection_period(first_terms):
    """R45: the new version cannot apply before the objection period ends."""
    change = _version(version="2026-03", effective_on=datetime.date(2026, 3, 20))
    with pytest.raises(services.TermsError, match="03/04/2026"):
        services.terms_version_announce(version=change, now=MAR)
    change.refresh_from_db()
    assert change.announced_at is None


def test_it_gives_six_weeks_for_service_package_terms(company, owner):
    """R45, 001 §13.1: six weeks to object to changed service-package terms."""
    services.terms_version_announce(
        version=_version(kind=TermsVersion.Kind.SERVICE_PACKAGES), now=JAN
    )
    change = _version(
        kind=TermsVersion.Kind.SERVICE_PACKAGES,
        version="2026-05",
        effective_on=datetime.date(2026, 4, 14),
    )
    with pytest.raises(services.TermsError, match="14/04/2026"):
        services.terms_version_announce(
            version=_version(
                kind=TermsVersion.Kind.SERVICE_PACKAGES,
                version="early",
                effective_on=datetime.date(2026, 4, 13),
            ),
            now=MAR,
        )
    services.terms_version_announce(version=change, now=MAR)
    assert services.objection_deadline(change) == datetime.date(2026, 4, 13)
    services.terms_object(
        company=company,
        version=change,
        user=owner,
        now=datetime.datetime(2026, 4, 13, 9, 0, tzinfo=datetime.UTC),
    )
    assert TermsObjection.objects.for_company(company).exists()


def test_it_refuses_objections_after_the_period_and_from_viewers(
    client, company, owner, first_terms
):
    """R45: no objection after the deadline; only owners object (R2)."""
    change = services.terms_version_announce(
        version=_version(version="2026-04", effective_on=datetime.date(2026, 4, 3)), now=MAR
    )
    viewer = factories.MembershipFactory(company=company, role=Role.VIEWER).user
    client.force_login(viewer)
    url = reverse("backend:contract-terms-object", args=[change.pk])
    assert client.post(url, {}).status_code == 403
    late = datetime.datetime(2026, 4, 3, 9, 0, tzinfo=datetime.UTC)
    with pytest.raises(services.TermsError):
        services.terms_object(company=company, version=change, user=owner, now=late)
    assert not TermsObjection.objects.for_company(company).exists()


def test_it_keeps_every_companys_accepted_version_on_record(
    company, other_company, first_terms, unscoped
):
    """R45: each company's accepted versions, and an ended company is not bound anew."""
    Company.objects.filter(pk=other_company.pk).update(status=Company.Status.ENDED)
    change = services.terms_version_announce(
        version=_version(version="2026-04", effective_on=datetime.date(2026, 4, 3)), now=MAR
    )
    services.terms_apply_due(today=datetime.date(2026, 4, 3))
    assert set(
        TermsAcceptance.objects.filter(company=company).values_list("version", flat=True)
    ) == {
        first_terms.pk,
        change.pk,
    }
    assert list(
        TermsAcceptance.objects.filter(company=other_company).values_list("version", flat=True)
    ) == [first_terms.pk]
