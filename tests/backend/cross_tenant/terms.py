"""Matrix rows for the contract pages: offers, terms, maintenance, sanctions (R44-R47)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from moderation.models import Reason
from terms import sanctions, services
from terms.models import Offer, TermsVersion
from tests import factories

ROWS = {
    # B's own contract page: B's offers, terms and sanctions only.
    "contract": ("get", "/backend/contract/", {}, 200),
    "contract-offer": ("get", "/backend/contract/offers/{offer}/", {}, 404),
    "contract-offer-accept": (
        "post",
        "/backend/contract/offers/{offer}/accept/",
        {"version": "{offer_version}", "digest": "{offer_digest}", "confirm": "on"},
        404,
    ),
    # Terms versions are the same for every company; an objection is always B's own.
    "contract-terms": ("get", "/backend/contract/terms/{terms_version}/", {}, 200),
    "contract-terms-object": (
        "post",
        "/backend/contract/terms/{terms_version}/object/",
        {"remark": "B objects"},
        302,
    ),
}


def seed(company, shop) -> dict:
    plan = factories.PlanFactory(name="ACME-A special plan")
    offer = Offer.objects.for_company(company).create(
        company=company, plan=plan, special_terms="ACME-A only"
    )
    version = services.offer_send(offer=offer, notify=False)
    terms = TermsVersion.objects.create(
        kind=TermsVersion.Kind.REVIEW_CONDITIONS,
        version="matrix",
        title="Review conditions",
        body="Be fair.",
        effective_on=timezone.localdate() + datetime.timedelta(days=60),
    )
    services.terms_version_announce(version=terms)
    sanctions.sanction_warn(
        company=company,
        actor=None,
        ground=Reason.SEAL_MISUSE,
        breach="ACME-A misuses the seal",
        grace_days=3,
    )
    return {
        "offer": offer.pk,
        "offer_version": str(version.number),
        "offer_digest": version.digest,
        "terms_version": terms.pk,
    }
