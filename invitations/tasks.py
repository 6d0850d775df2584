"""Celery tasks of the invitations app: thin, id-only, safe to run twice (STYLE.md 2-4)."""

import logging
import smtplib

from celery import shared_task
from celery.signals import worker_init
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError

from invitations import emails, sending, services
from invitations.csv_import import order_import_task  # noqa: F401 (registers the task)

logger = logging.getLogger(__name__)


@worker_init.connect
def _preload_email_rendering(**kwargs) -> None:
    """Before the pool forks: its processes share the loaded templates, translations and URL
    patterns instead of each loading them while it sends its first batch."""
    try:
        emails.rendering_preload()
    except Exception:  # a worker that cannot preload still works: each process loads on use
        logger.exception("invitation emails: preloading the rendering failed")


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
    name="invitations.send_invitation_emails",
    # A database restart mid-batch (FA-5): retry; claims of the lost session are handed on.
    autoretry_for=(DatabaseOperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=sending.MAX_RETRIES,
    soft_time_limit=sending.BATCH_SOFT_TIME_LIMIT,
    time_limit=sending.BATCH_TIME_LIMIT,
)
def send_invitation_emails(invitation_ids: list[int]) -> dict[str, int]:
    """Send a batch of claimed invitations over one SMTP connection (ID-4, FA-1, FA-2, FA-6);
    a transient failure goes on alone in ``send_invitation_email``. Takes only ids."""
    return sending.invitation_emails_send(invitation_ids=invitation_ids)


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
    """Send the email an invitation is claimed for (ID-4, FA-1, FA-6). Takes only an id.

    The retry of one email of a batch, and messages queued before batches existed."""
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
