"""Celery tasks of the invitations app: thin, id-only, safe to run twice (STYLE.md 2-4)."""

import smtplib

from celery import shared_task
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError

from invitations import sending, services
from invitations.csv_import import order_import_task  # noqa: F401 (registers the task)


@shared_task(name="invitations.expire_links")
def expire_links() -> int:
    return services.invitations_expire()


@shared_task(name="invitations.purge_personal_data")
def purge_personal_data() -> dict[str, int]:
    """Every retention rule in one run (docs/privacy.md); the name is kept for the beat entry."""
    # Imported here: moderation depends on invitations, not the other way round.
    from moderation.retention import personal_data_purge

    return personal_data_purge()


@shared_task(name="invitations.send_invitations")
def send_invitations() -> int:
    return sending.invitations_send_due()


@shared_task(
    bind=True,
    name="invitations.send_invitation_email",
    # A database restart mid-task (FA-5): retry; the claim is taken over once the lock is free.
    autoretry_for=(DatabaseOperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=sending.MAX_RETRIES,
    soft_time_limit=sending.SEND_SOFT_TIME_LIMIT,
    time_limit=sending.SEND_TIME_LIMIT,
)
def send_invitation_email(self, invitation_id: int) -> str:
    """Send the email an invitation is claimed for (ID-4, FA-1, FA-6). Takes only an id."""
    try:
        return sending.invitation_email_send(
            invitation_id=invitation_id, last_try=self.request.retries >= self.max_retries
        )
    except sending.SendLater as later:
        raise self.retry(exc=later, countdown=later.countdown) from None


@shared_task(
    name="invitations.send_link_request_email",
    autoretry_for=(
        DatabaseOperationalError,
        InterfaceError,
        ConnectionError,
        TimeoutError,
        smtplib.SMTPServerDisconnected,
        smtplib.SMTPConnectError,
    ),
    retry_backoff=30,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def send_link_request_email(link_request_id: int) -> bool:
    """Answer a link request with the rating link (R10). Takes only an id; safe to repeat."""
    from invitations.link_requests import link_request_email_send

    return link_request_email_send(link_request_id=link_request_id)
