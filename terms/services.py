"""Offers and conclusion (R44), terms versions and objections (R45).

Sanctions (R47) live in :mod:`terms.sanctions`.
"""

from __future__ import annotations

import datetime
import ipaddress

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Contract, Plan
from billing.services import contract_conclude
from companies.models import Company, User
from terms.models import (
    Offer,
    OfferAcceptance,
    OfferVersion,
    StartRule,
    TermsAcceptance,
    TermsObjection,
    TermsVersion,
    content_digest,
)


class TermsError(Exception):
    """A request the contract rules refuse; the message is shown to the person."""


def client_network(client_ip: str) -> str:
    """The address truncated to its network (IPv4 /24, IPv6 /48), as elsewhere (R23)."""
    try:
        address = ipaddress.ip_address((client_ip or "").strip())
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


# --- Offers (R44, 004 §13.1-13.2) ---------------------------------------------------------------


def offer_latest_version(*, offer: Offer) -> OfferVersion | None:
    return OfferVersion.objects.for_company(offer.company_id).filter(offer=offer).first()


def offer_send(*, offer: Offer, now: datetime.datetime | None = None, notify: bool = True):
    """Freeze the offer as it stands into a new version and show it to the company.

    Sending an unchanged offer again returns the version already sent."""
    now = now or timezone.now()
    with transaction.atomic():
        offer = Offer.objects.for_company(offer.company_id).select_for_update().get(pk=offer.pk)
        if offer.status not in (Offer.Status.DRAFT, Offer.Status.SENT):
            raise TermsError(_("Only a draft or a sent offer can be sent."))
        content = offer.content()
        digest = content_digest(content)
        latest = offer_latest_version(offer=offer)
        if latest is not None and latest.digest == digest:
            return latest
        version = OfferVersion.objects.for_company(offer.company_id).create(
            company_id=offer.company_id,
            offer=offer,
            number=(latest.number + 1) if latest else 1,
            content=content,
            digest=digest,
            sent_at=now,
        )
        offer.status = Offer.Status.SENT
        offer.save(update_fields=["status", "updated_at"])
        if notify:
            from terms.tasks import send_offer_email

            transaction.on_commit(lambda: send_offer_email.delay(version.pk))
    return version


def offer_withdraw(*, offer: Offer) -> Offer:
    updated = (
        Offer.objects.for_company(offer.company_id)
        .filter(pk=offer.pk, status__in=[Offer.Status.DRAFT, Offer.Status.SENT])
        .update(status=Offer.Status.WITHDRAWN, updated_at=timezone.now())
    )
    if not updated:
        raise TermsError(_("Only an open offer can be withdrawn."))
    offer.refresh_from_db()
    return offer


def _check_acceptable(offer: Offer, number: int, digest: str) -> OfferVersion:
    if offer.status != Offer.Status.SENT:
        raise TermsError(_("This offer is no longer open."))
    latest = offer_latest_version(offer=offer)
    # 004 §13.2: an order form changed after it was sent is not the offer any more.
    if latest is None or latest.number != number or latest.digest != digest:
        raise TermsError(
            _("This offer was changed after you opened it. Please read the current version.")
        )
    if content_digest(offer.content()) != latest.digest:
        raise TermsError(_("This offer is being changed by our staff; it will be sent again."))
    running = Contract.objects.for_company(offer.company_id).filter(
        status__in=[Contract.Status.PENDING, Contract.Status.ACTIVE]
    )
    if running.exists():  # a change of plan is an upgrade (R40), not a second contract
        raise TermsError(_("Your company has a running contract; please ask us for a change."))
    return latest


def offer_accept(
    *,
    offer: Offer,
    version_number: int,
    digest: str,
    user: User | None,
    client_ip: str,
    now: datetime.datetime | None = None,
) -> OfferAcceptance:
    """R44: conclude the contract on exactly the version the person saw."""
    now = now or timezone.now()
    with transaction.atomic():
        offer = (
            Offer.objects.for_company(offer.company_id)
            .select_for_update()
            .select_related("plan", "company")
            .get(pk=offer.pk)
        )
        version = _check_acceptable(offer, version_number, digest)
        today = timezone.localdate(now)
        contract = contract_conclude(company=offer.company, plan=offer.plan, concluded_on=today)
        if offer.start_rule == StartRule.ON_ACCEPTANCE:
            contract.starts_on = today
            contract.save(update_fields=["starts_on", "updated_at"])
        acceptance = OfferAcceptance.objects.for_company(offer.company_id).create(
            company_id=offer.company_id,
            offer=offer,
            version=version,
            digest=version.digest,
            accepted_by=user,
            accepted_at=now,
            client_network=client_network(client_ip),
            contract=contract,
        )
        offer.status = Offer.Status.ACCEPTED
        offer.save(update_fields=["status", "updated_at"])
        terms_accept_current(company=offer.company, user=user, now=now)
        from terms.tasks import send_conclusion_email

        transaction.on_commit(lambda: send_conclusion_email.delay(acceptance.pk))
    return acceptance


def standard_plan() -> Plan | None:
    name = getattr(settings, "BILLING_STANDARD_PLAN_NAME", "")
    return Plan.objects.filter(name=name).first() if name else None


def conclude_standard_offer(
    *, company: Company, user: User, ip: str, when: datetime.datetime
) -> OfferAcceptance | None:
    """001 §3.1: a confirmed self-service sign-up concludes a contract on the standard plan.

    Skipped without a standard plan, and for a company that has a contract or an offer already
    (confirming twice concludes nothing twice)."""
    plan = standard_plan()
    if plan is None:
        return None
    with transaction.atomic():
        Company.objects.select_for_update().get(pk=company.pk)
        if (
            Contract.objects.for_company(company).exists()
            or Offer.objects.for_company(company).exists()
        ):
            return None
        offer = Offer.objects.for_company(company).create(
            company=company, plan=plan, self_service=True
        )
        version = offer_send(offer=offer, now=when, notify=False)
        return offer_accept(
            offer=offer,
            version_number=version.number,
            digest=version.digest,
            user=user,
            client_ip=ip,
            now=when,
        )


# --- Terms versions (R45, 004 §18.6, 001 §13.1) ------------------------------------------------


def objection_deadline(version: TermsVersion) -> datetime.date | None:
    if version.announced_at is None:
        return None
    return timezone.localdate(version.announced_at) + version.objection_period


def _has_earlier(version: TermsVersion) -> bool:
    return (
        TermsVersion.objects.filter(kind=version.kind, announced_at__isnull=False)
        .exclude(pk=version.pk)
        .exists()
    )


def terms_version_announce(
    *, version: TermsVersion, now: datetime.datetime | None = None
) -> TermsVersion:
    """Publish a version; a change to earlier terms goes to every company by email and takes
    effect no earlier than the end of the objection period."""
    now = now or timezone.now()
    if version.announced_at is not None:
        return version
    # The version binds from the day after the objection period ends (004 §18.6, 001 §13.1).
    earliest = timezone.localdate(now) + version.objection_period + datetime.timedelta(days=1)
    if _has_earlier(version) and version.effective_on < earliest:
        raise TermsError(
            _("With the objection period the earliest effective date is %(date)s.")
            % {"date": f"{earliest:%d/%m/%Y}"}
        )
    with transaction.atomic():
        updated = TermsVersion.objects.filter(pk=version.pk, announced_at__isnull=True).update(
            announced_at=now
        )
        if updated and _has_earlier(version):
            from terms.tasks import announce_terms_version

            transaction.on_commit(lambda: announce_terms_version.delay(version.pk))
    version.refresh_from_db()
    return version


def terms_affected_company_ids(version: TermsVersion) -> list[int]:
    """Companies bound by the terms: every company whose contract has not ended. (A company
    that concludes after the announcement accepts the announced version at conclusion.)"""
    return list(
        Company.objects.exclude(status=Company.Status.ENDED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def terms_object(
    *,
    company: Company,
    version: TermsVersion,
    user: User | None,
    remark: str = "",
    now: datetime.datetime | None = None,
) -> TermsObjection:
    """Record the company's objection while the period runs (004 §18.6, 001 §13.1)."""
    now = now or timezone.now()
    deadline = objection_deadline(version)
    if deadline is None or timezone.localdate(now) > deadline:
        raise TermsError(_("The objection period for this version has ended."))
    if TermsAcceptance.objects.for_company(company).filter(version=version).exists():
        raise TermsError(_("Your company has already accepted this version."))
    objection, _created = TermsObjection.objects.for_company(company).get_or_create(
        company=company,
        version=version,
        defaults={"objected_by": user, "objected_at": now, "remark": remark.strip()},
    )
    return objection


def _current_and_upcoming(today: datetime.date) -> list[TermsVersion]:
    announced = TermsVersion.objects.filter(announced_at__isnull=False).order_by("-effective_on")
    chosen, seen = [], set()
    for version in announced:
        if version.effective_on > today:
            chosen.append(version)
        elif version.kind not in seen:
            seen.add(version.kind)
            chosen.append(version)
    return chosen


def terms_accept_current(
    *,
    company: Company,
    user: User | None,
    now: datetime.datetime,
    how: str = TermsAcceptance.How.CONCLUSION,
) -> int:
    """At sign-up and at conclusion the company agrees to the current versions and to those
    announced (R45). The company terms carry the attestation that customers consented to be
    invited (R6, 004 §6.2), so this record is also that attestation: who, when, which text."""
    rows = [
        TermsAcceptance(
            company=company,
            version=version,
            how=how,
            accepted_at=now,
            accepted_by=user,
        )
        for version in _current_and_upcoming(timezone.localdate(now))
    ]
    created = TermsAcceptance.objects.for_company(company).bulk_create(rows, ignore_conflicts=True)
    return len(created)


def terms_apply_due(*, today: datetime.date | None = None) -> int:
    """On its effective date a version binds every company told of it that did not object.

    A nightly sweep across all companies, so the queries are deliberately unscoped."""
    today = today or timezone.localdate()
    due = TermsVersion.objects.filter(announced_at__isnull=False, effective_on__lte=today)
    count = 0
    for version in due:
        # Deliberately cross-tenant: one sweep over every company the change was announced to.
        objected = TermsObjection.objects.unscoped().filter(version=version)
        accepted = TermsAcceptance.objects.unscoped().filter(version=version)
        company_ids = set(terms_affected_company_ids(version))
        company_ids -= set(objected.values_list("company_id", flat=True))
        company_ids -= set(accepted.values_list("company_id", flat=True))
        at = timezone.make_aware(datetime.datetime.combine(version.effective_on, datetime.time()))
        rows = [
            TermsAcceptance(
                company_id=company_id,
                version=version,
                how=TermsAcceptance.How.NO_OBJECTION,
                accepted_at=at,
            )
            for company_id in sorted(company_ids)
        ]
        count += len(TermsAcceptance.objects.unscoped().bulk_create(rows, ignore_conflicts=True))
    return count
