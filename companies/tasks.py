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
