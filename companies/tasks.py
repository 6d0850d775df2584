"""Celery tasks of the companies app: thin and id-only (STYLE.md 2)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from companies.models import User
from companies.services_accounts import email_confirmation_token


@shared_task(name="companies.send_email_confirmation")
def send_email_confirmation(user_id: int) -> bool:
    """The sign-up confirmation link (R1). Nothing is sent once the address is confirmed."""
    user = User.objects.filter(pk=user_id, email_confirmed_at__isnull=True).first()
    if user is None:
        return False
    token = email_confirmation_token(user=user)
    context = {
        "user": user,
        "confirm_url": settings.SITE_URL + reverse("accounts:confirm", args=[token]),
    }
    subject = render_to_string("emails/accounts/confirm_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/accounts/confirm.txt", context),
        to=[user.email],
    )
    message.attach_alternative(
        render_to_string("emails/accounts/confirm.html", context), "text/html"
    )
    message.send()
    return True


# --- Notifications and settings requests (R8, R41) -----------------------------------------------


@shared_task(name="companies.send_review_notifications")
def send_review_notifications(shop_id: int) -> int:
    """New-review and low-rating emails of one shop; each (review, user) goes out once."""
    from companies.notifications import review_notifications_send

    return review_notifications_send(shop_id=shop_id)


@shared_task(
    name="companies.send_weekly_digests",
    bind=True,
    max_retries=6,
    default_retry_delay=600,
)
def send_weekly_digests(self) -> int:
    """Beat, Mondays: last ISO week's digest; a retry sends only what is still missing."""
    from companies.notifications import weekly_digests_send

    try:
        return weekly_digests_send()
    except Exception as exc:  # SMTP down: each sent key is kept, the rest goes out on retry
        raise self.retry(exc=exc) from exc


@shared_task(name="companies.send_settings_request_decision")
def send_settings_request_decision(request_id: int) -> str:
    """The company hears that staff approved or refused its request (once per decision)."""
    from companies.notifications import settings_request_decision_send

    return settings_request_decision_send(request_id=request_id)
