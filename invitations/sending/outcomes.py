"""How one email of a run ends when it is not simply sent: not sent after all (R6, R7, R9),
bounced, given up, or already settled by an earlier run; the fields a sent email's invitation
gets; and the pure helpers that classify an SMTP error and space the retries.

Only the run that claimed a record or an invitation moves it on: every stamp is a conditional
UPDATE on the "sending" status (STYLE.md 3-4).
"""

from __future__ import annotations

import datetime
import functools
import logging
import random
import smtplib

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ekomi.logging import redact
from invitations.models import Invitation, InvitationEmail, Suppression, email_digest
from invitations.sending.limits import RETRY_BASE_SECONDS, RETRY_MAX_SECONDS
from invitations.sending.session import durable_commit
from invitations.sending.suppression import suppression_add

logger = logging.getLogger(__name__)

Status = Invitation.Status
EmailStatus = InvitationEmail.Status


def settle_from_record(invitation: Invitation, record: InvitationEmail) -> str:
    """The record was not claimable: finish the invitation if its email already has an outcome."""
    if record.status == EmailStatus.SENT:
        # The email went out but the invitation never learnt it: finish, never send again.
        sent_at = record.sent_at or timezone.now()
        update_invitation(invitation, **sent_fields(invitation, record.kind, sent_at))
        return "already sent"
    if record.status in (EmailStatus.BOUNCED, EmailStatus.FAILED):
        update_invitation(invitation, **end_fields(invitation, record.last_error))
        return "already failed"
    return "claimed elsewhere"


def reason_not_to_send(
    invitation: Invitation, *, suppression: str | None
) -> tuple[str, str] | None:
    """R6, R7 and R9, checked again right before SMTP: things change while an email waits.
    ``suppression``: the reason this shop suppressed the address, if it did (one batch read)."""
    if invitation.used_at is not None:
        return Status.RATED, ""
    if invitation.expires_at <= timezone.now():
        return Status.EXPIRED, ""
    if not invitation.order.consent:
        return Status.SUPPRESSED, Invitation.SuppressionReason.NO_CONSENT
    if not invitation.email:
        return Status.SUPPRESSED, Invitation.SuppressionReason.NO_EMAIL
    if suppression:
        return Status.SUPPRESSED, suppression
    return None


def stop(invitation: Invitation, record: InvitationEmail, target: str, reason: str) -> str:
    outcome = f"not sent: {reason or target}"
    if target == Status.SUPPRESSED and invitation.sent_at is not None:
        # A reminder: the invitation itself went out, so it stays "sent", without reminders.
        fields = {"status": Status.SENT, "next_reminder_at": None}
    else:
        fields = {"status": target, "suppression_reason": reason}
    with transaction.atomic():
        update_record(record, status=EmailStatus.FAILED, last_error=outcome)
        update_invitation(invitation, **fields)
    logger.info("invitation %s: %s %s", invitation.public_id, record.kind, outcome)
    return outcome


def sent_fields(invitation: Invitation, kind: str, now: datetime.datetime) -> dict:
    reminders = invitation.reminders_sent + int(kind != InvitationEmail.Kind.INVITATION)
    more = reminders < invitation.shop.reminder_count
    interval = datetime.timedelta(days=invitation.shop.reminder_interval_days)
    return {
        "status": Status.SENT,
        "sent_at": invitation.sent_at or now,
        "reminders_sent": reminders,
        "next_reminder_at": now + interval if more else None,
        "last_error": "",
    }


def end_fields(invitation: Invitation, error: str) -> dict:
    """A final failure: the invitation failed, or, for a reminder, just gets no more reminders."""
    if invitation.sent_at is None:
        return {"status": Status.FAILED, "last_error": error}
    return {"status": Status.SENT, "next_reminder_at": None, "last_error": error}


def bounce(invitation: Invitation, record: InvitationEmail, error: str) -> str:
    """A hard bounce: never write to this address from this shop again (R6, ID-4b)."""
    with transaction.atomic():
        durable_commit()  # the suppression outlives even a crash of Postgres
        update_record(record, status=EmailStatus.BOUNCED, last_error=error)
        update_invitation(invitation, **end_fields(invitation, error))
        suppression_add(
            shop=invitation.shop,
            digest=email_digest(invitation.email),
            reason=Suppression.Reason.BOUNCED,
        )
    logger.warning("invitation %s: %s bounced (%s)", invitation.public_id, record.kind, error)
    return "bounced"


def give_up(invitation: Invitation, record: InvitationEmail, error: str) -> str:
    with transaction.atomic():
        update_record(record, status=EmailStatus.FAILED, last_error=error)
        update_invitation(invitation, **end_fields(invitation, error))
    logger.warning("invitation %s: %s failed (%s)", invitation.public_id, record.kind, error)
    return "failed"


def update_record(record: InvitationEmail, **fields) -> None:
    # Only the run that claimed the record moves it on.
    InvitationEmail.objects.filter(pk=record.pk, status=EmailStatus.SENDING).update(
        **fields, updated_at=timezone.now()
    )


def record_sent(record: InvitationEmail, sent_at: datetime.datetime, *, cursor=None) -> None:
    """``update_record(record, status=SENT, sent_at=sent_at, last_error="")``, the one statement
    a batch runs per email: its text built once per database, only the times and the key bound
    (binding fewer values, and not building a queryset, is what makes it cheaper per email).
    ``cursor``: one a run keeps open for all its stamps, else one of its own."""
    if cursor is None:
        with connection.cursor() as own:
            record_sent(record, sent_at, cursor=own)
        return
    now = timezone.now()
    # Cross-tenant by primary key: a record this run claimed (``update_record``'s condition).
    cursor.execute(_record_sent_sql(connection.vendor), [*_db_times(sent_at, now), record.pk])


@functools.cache
def _record_sent_sql(vendor: str) -> str:
    """The statement for ``vendor``'s quoting; the two statuses and the empty error are the
    model's constants, written into it."""
    meta, quote = InvitationEmail._meta, connection.ops.quote_name
    status, sent_at, last_error, updated_at = (
        quote(meta.get_field(name).column)
        for name in ("status", "sent_at", "last_error", "updated_at")
    )
    for constant in (EmailStatus.SENT, EmailStatus.SENDING):
        if not constant.isidentifier():  # a literal must not need quoting beyond '...'
            raise ValueError(f"status {constant!r} cannot be written into SQL as it is")
    return (
        f"UPDATE {quote(meta.db_table)} SET {status} = '{EmailStatus.SENT}', "  # noqa: S608 (names and constants from the model)  # nosec B608
        f"{sent_at} = %s, {last_error} = '', {updated_at} = %s "
        f"WHERE {quote(meta.pk.column)} = %s AND {status} = '{EmailStatus.SENDING}'"
    )


def _db_times(*values: datetime.datetime) -> list:
    """Each time as a DateTimeField hands it to the database (aware datetimes in SQLite too)."""
    field = InvitationEmail._meta.get_field("updated_at")
    return [field.get_db_prep_value(value, connection, prepared=False) for value in values]


def update_invitation(invitation: Invitation, **fields) -> None:
    Invitation.objects.filter(pk=invitation.pk, status=Status.SENDING).update(
        **fields, updated_at=timezone.now()
    )


def is_permanent_refusal(exc: BaseException) -> bool:
    """5xx for the recipient or the message: a hard bounce. Our own setup's errors are not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    ours = (
        smtplib.SMTPSenderRefused,
        smtplib.SMTPConnectError,
        smtplib.SMTPHeloError,
        smtplib.SMTPAuthenticationError,
    )
    if isinstance(exc, ours):
        return False
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def describe_send_error(exc: BaseException) -> str:
    """The SMTP code and text for the record, with any address redacted (R43)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, text = next(iter(exc.recipients.values()))
    elif isinstance(exc, smtplib.SMTPResponseException):
        code, text = exc.smtp_code, exc.smtp_error
    else:
        return redact(f"{type(exc).__name__}: {exc}")[:500]
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return redact(f"SMTP {code} {text}")[:500]


def retry_countdown(attempt: int) -> float:
    """Exponential backoff with jitter: half the step fixed, half random."""
    base = getattr(settings, "INVITATION_SEND_RETRY_BASE_SECONDS", RETRY_BASE_SECONDS)
    step = min(RETRY_MAX_SECONDS, base * 2 ** max(attempt - 1, 0))
    return step / 2 + random.uniform(0, step / 2)  # noqa: S311 (jitter, not a secret)
