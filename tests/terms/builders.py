"""One row of every terms and status model, for the admin tests (tests/platform/test_admin.py)."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from django.utils import timezone

from status.models import HealthCheck, MaintenanceWindow
from terms import sanctions, services
from terms.models import (
    HandlingFee,
    Offer,
    OfferAcceptance,
    OfferVersion,
    Sanction,
    SanctionStep,
    TermsAcceptance,
    TermsObjection,
    TermsVersion,
)
from tests import factories

_SEQUENCE = itertools.count()


def _offer(shop) -> Offer:
    return Offer.objects.for_company(shop.company).create(
        company=shop.company, plan=factories.PlanFactory()
    )


def _version(shop) -> OfferVersion:
    return services.offer_send(offer=_offer(shop), notify=False)


def _acceptance(shop) -> OfferAcceptance:
    # A company of its own: a company with a running contract accepts no second offer.
    shop = factories.ShopFactory(company=factories.CompanyFactory())
    version = _version(shop)
    owner = factories.MembershipFactory(company=shop.company).user
    return services.offer_accept(
        offer=version.offer,
        version_number=version.number,
        digest=version.digest,
        user=owner,
        client_ip="192.0.2.10",
    )


def _terms(shop) -> TermsVersion:
    version = TermsVersion.objects.create(
        kind=TermsVersion.Kind.COMPANY_TERMS,
        version=f"v{next(_SEQUENCE)}",
        title="Terms",
        body="Text",
        effective_on=timezone.localdate() + datetime.timedelta(days=90),
    )
    return services.terms_version_announce(version=version)


def _terms_acceptance(shop) -> TermsAcceptance:
    return TermsAcceptance.objects.for_company(shop.company).create(
        company=shop.company,
        version=_terms(shop),
        how=TermsAcceptance.How.CONCLUSION,
        accepted_at=timezone.now(),
    )


def _objection(shop) -> TermsObjection:
    return services.terms_object(company=shop.company, version=_terms(shop), user=None)


def _sanction(shop) -> Sanction:
    return sanctions.sanction_warn(
        company=shop.company, actor=None, ground="seal_misuse", breach="Seal misuse", grace_days=7
    )


def _health(shop) -> HealthCheck:
    minute = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
        minutes=next(_SEQUENCE)
    )
    return HealthCheck.objects.create(checked_at=minute, ok=True, database="ok", redis="ok")


def _window(shop) -> MaintenanceWindow:
    start = timezone.now() + datetime.timedelta(days=7)
    return MaintenanceWindow.objects.create(
        title="Upgrade", starts_at=start, ends_at=start + datetime.timedelta(hours=1)
    )


BUILDERS = {
    "terms.Offer": _offer,
    "terms.OfferVersion": _version,
    "terms.OfferAcceptance": _acceptance,
    "terms.TermsVersion": _terms,
    "terms.TermsAcceptance": _terms_acceptance,
    "terms.TermsObjection": _objection,
    "terms.HandlingFee": lambda shop: HandlingFee.objects.get_or_create(
        kind=HandlingFee.Kind.BLOCK, defaults={"amount": Decimal("50.00")}
    )[0],
    "terms.Sanction": _sanction,
    "terms.SanctionStep": lambda shop: (
        SanctionStep.objects.for_company(shop.company).filter(sanction=_sanction(shop)).get()
    ),
    "status.MaintenanceWindow": _window,
    "status.HealthCheck": _health,
}
