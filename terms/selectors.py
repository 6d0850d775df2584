"""Reads for the contract pages of the backend and for staff (R44, R45, R47)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone

from billing.models import Contract
from companies.models import Company
from companies.tenancy import access_object
from terms.models import (
    Offer,
    OfferVersion,
    Sanction,
    SanctionStep,
    TermsAcceptance,
    TermsObjection,
    TermsVersion,
)
from terms.services import objection_deadline


def access_offer(*, company: Company, offer_id: int) -> Offer:
    """A sent or accepted offer of ``company``; drafts are not shown to the company."""
    offer = access_object(Offer, company=company, pk=offer_id)
    if offer.status not in (Offer.Status.SENT, Offer.Status.ACCEPTED):
        raise Http404("No offer matches the given query.")
    return offer


def access_terms_version(*, version_id: int) -> TermsVersion:
    """Announced versions are the same for every company; unannounced ones do not exist."""
    version = TermsVersion.objects.filter(pk=version_id, announced_at__isnull=False).first()
    if version is None:
        raise Http404("No terms version matches the given query.")
    return version


def offers_for_company(*, company: Company) -> list[Offer]:
    """Open and accepted offers with their versions and acceptance: two queries."""
    versions = OfferVersion.objects.for_company(company).order_by("-number")
    return list(
        Offer.objects.for_company(company)
        .filter(status__in=[Offer.Status.SENT, Offer.Status.ACCEPTED])
        .select_related("acceptance", "acceptance__accepted_by", "acceptance__version")
        .prefetch_related(Prefetch("versions", queryset=versions, to_attr="sent_versions"))
        .order_by("-created_at", "-pk")
    )


def contract_current(*, company: Company) -> Contract | None:
    return (
        Contract.objects.for_company(company)
        .select_related("plan")
        .exclude(status=Contract.Status.ENDED)
        .order_by("-concluded_on", "-pk")
        .first()
    )


@dataclass(frozen=True)
class PendingVersion:
    version: TermsVersion
    deadline: datetime.date | None
    objection: TermsObjection | None
    accepted: bool

    @property
    def may_object(self) -> bool:
        today = timezone.localdate()
        return (
            self.objection is None
            and not self.accepted
            and self.deadline is not None
            and today <= self.deadline
        )


def terms_accepted(*, company: Company) -> list[TermsAcceptance]:
    """Every version the company agreed to, newest first (R45: on record)."""
    return list(
        TermsAcceptance.objects.for_company(company)
        .select_related("version", "accepted_by")
        .order_by("-version__effective_on", "-pk")
    )


def terms_pending(*, company: Company, today: datetime.date | None = None) -> list[PendingVersion]:
    """Announced versions not yet in effect, with the company's objection if any."""
    today = today or timezone.localdate()
    versions = list(
        TermsVersion.objects.filter(announced_at__isnull=False, effective_on__gt=today).order_by(
            "effective_on"
        )
    )
    objections = {
        o.version_id: o
        for o in TermsObjection.objects.for_company(company).filter(version__in=versions)
    }
    accepted = set(
        TermsAcceptance.objects.for_company(company)
        .filter(version__in=versions)
        .values_list("version_id", flat=True)
    )
    return [
        PendingVersion(v, objection_deadline(v), objections.get(v.pk), v.pk in accepted)
        for v in versions
    ]


def sanctions_open(*, company: Company) -> list[Sanction]:
    steps = SanctionStep.objects.for_company(company).select_related("fee_invoice")
    return list(
        Sanction.objects.for_company(company)
        .exclude(stage=Sanction.Stage.CLOSED)
        .prefetch_related(Prefetch("steps", queryset=steps, to_attr="recorded_steps"))
        .order_by("-created_at")
    )
