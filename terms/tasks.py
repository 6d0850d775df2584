"""Celery tasks of the terms app: ids only, safe to run twice (each email is keyed once)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from companies.models import Company
from companies.outbox import company_addresses, send_company_email
from terms import services
from terms.models import OfferAcceptance, OfferVersion, SanctionStep, TermsVersion


def _message(company_id: int, template: str, context: dict) -> EmailMessage | None:
    recipients = company_addresses(company_id)
    if not recipients:
        return None
    context = {"contract_url": settings.SITE_URL + reverse("backend:contract"), **context}
    subject = render_to_string(f"emails/terms/{template}_subject.txt", context).strip()
    body = render_to_string(f"emails/terms/{template}.txt", context)
    return EmailMessage(subject=subject, body=body, to=recipients)


@shared_task(name="terms.send_offer_email")
def send_offer_email(version_id: int) -> str:
    """R44: the company's owners are told that an offer waits in the backend."""
    version = OfferVersion.objects.unscoped().filter(pk=version_id).first()
    if version is None:
        return "missing"
    return send_company_email(
        company_id=version.company_id,
        key=f"offer:{version.offer_id}:v{version.number}",
        build=lambda: _message(version.company_id, "offer", {"version": version}),
    )


@shared_task(name="terms.send_conclusion_email")
def send_conclusion_email(acceptance_id: int) -> str:
    """R44, 001 §3.1: the contract is confirmed by email."""
    acceptance = (
        OfferAcceptance.objects.unscoped()
        .select_related("version", "accepted_by")
        .filter(pk=acceptance_id)
        .first()
    )
    if acceptance is None:
        return "missing"
    context = {"acceptance": acceptance, "content": acceptance.version.content}
    return send_company_email(
        company_id=acceptance.company_id,
        key=f"offer-accepted:{acceptance.offer_id}",
        build=lambda: _message(acceptance.company_id, "conclusion", context),
    )


@shared_task(name="terms.announce_terms_version")
def announce_terms_version(version_id: int) -> int:
    """R45: one email per affected company; a second run sends nothing twice."""
    version = TermsVersion.objects.filter(pk=version_id, announced_at__isnull=False).first()
    if version is None:
        return 0
    context = {"version": version, "deadline": services.objection_deadline(version)}
    sent = 0
    for company_id in services.terms_affected_company_ids(version):
        company = Company.objects.get(pk=company_id)
        result = send_company_email(
            company_id=company_id,
            key=f"terms:{version.pk}",
            build=lambda c=company: _message(c.pk, "terms_change", {**context, "company": c}),
        )
        sent += result == "sent"
    return sent


@shared_task(name="terms.send_sanction_step_email")
def send_sanction_step_email(step_id: int) -> str:
    """R47: the company is told of every step with its reason and dates."""
    step = SanctionStep.objects.unscoped().select_related("sanction").filter(pk=step_id).first()
    if step is None:
        return "missing"
    return send_company_email(
        company_id=step.company_id,
        key=f"sanction-step:{step.pk}",
        build=lambda: _message(step.company_id, "sanction_step", {"step": step}),
    )


@shared_task(name="terms.apply_terms_versions")
def apply_terms_versions() -> int:
    return services.terms_apply_due()
