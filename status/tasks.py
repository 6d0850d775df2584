"""Periodic jobs and emails of the status app: ids only, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from companies.models import Company
from companies.outbox import company_addresses, send_company_email
from status import services
from status.models import MaintenanceWindow


@shared_task(name="status.sample_health")
def sample_health() -> bool:
    """Every minute: record /healthz's checks (R46); old samples are dropped once a day."""
    sample = services.health_sample()
    if sample.checked_at.hour == 0 and sample.checked_at.minute == 0:
        services.health_samples_purge()
    return sample.ok


def _message(company_id: int, window: MaintenanceWindow) -> EmailMessage | None:
    recipients = company_addresses(company_id)
    if not recipients:
        return None
    context = {"window": window, "status_url": settings.SITE_URL + reverse("status:page")}
    subject = render_to_string("emails/status/maintenance_subject.txt", context).strip()
    body = render_to_string("emails/status/maintenance.txt", context)
    return EmailMessage(subject=subject, body=body, to=recipients)


@shared_task(name="status.announce_maintenance")
def announce_maintenance(window_id: int) -> int:
    """004 §3.2: every company hears of a long window; a moved window is announced again."""
    window = MaintenanceWindow.objects.filter(pk=window_id, cancelled=False).first()
    if window is None or not window.is_long:
        return 0
    sent = 0
    company_ids = Company.objects.exclude(status=Company.Status.ENDED).values_list("pk", flat=True)
    for company_id in company_ids.order_by("pk"):
        result = send_company_email(
            company_id=company_id,
            key=window.announcement_key,
            build=lambda c=company_id: _message(c, window),
        )
        sent += result == "sent"
    return sent
