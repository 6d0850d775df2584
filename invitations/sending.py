"""Sending invitations and reminders: the invitation table is the outbox (R6, R7, TESTPLAN FA-3).

``invitations_send_due`` (Celery beat, every minute; also ``manage.py send_invitations``) claims
due rows with a conditional UPDATE and queues ``send_invitation_email(id)`` once the claim is
committed. The task calls ``invitation_email_send``, which claims the send record of that one
email (unique per invitation and kind), re-checks consent and suppression, talks SMTP, and stamps
the result (STYLE.md 3-4, TESTPLAN ID-4).

Delivery is at least once: a worker killed between the SMTP answer and the stamp sends that email
again on redelivery, with the same Message-ID (FA-1). Every other duplicate, whether a beat
double-fire, a re-queued stale claim or the same task twice, sends nothing.

While a run works on an invitation it holds a Postgres advisory lock on it. The lock ends with
the database session, so a redelivered task can tell a dead claimant (lock free) from a live one
(lock held) without waiting for the lease. Without Postgres (the embedded SQLite mode) only the
lease applies.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import random
import smtplib
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import get_connection
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from companies.models import Shop
from companies.tenancy import tenant_scope
from ekomi.logging import redact
from invitations import emails
from invitations.models import Invitation, InvitationEmail, Suppression, email_digest

logger = logging.getLogger(__name__)

# A claim older than this is stale: above the send task's hard time limit and the longest
# retry backoff, so only a claim whose task was lost is ever re-queued.
LEASE = datetime.timedelta(minutes=10)
BATCH_SIZE = 200
MAX_BATCHES = 25  # per kind of work and sweep; the rest waits a minute for the next sweep
MAX_RETRIES = 5
MAX_SEND_ATTEMPTS = MAX_RETRIES + 1  # counted in Postgres: the broker keeps no retry count
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 300
SEND_SOFT_TIME_LIMIT = 45
SEND_TIME_LIMIT = 60
_LOCK_NAMESPACE = zlib.crc32(b"invitations.send") & 0x7FFFFFFF
_LOCK_TRIES = 5  # a killed worker's session ends within milliseconds; wait for it briefly

Status = Invitation.Status
EmailStatus = InvitationEmail.Status


class SendLater(Exception):
    """A transient failure: the claim is released and the task retries after ``countdown``."""

    def __init__(self, reason: str, countdown: float):
        super().__init__(reason)
        self.countdown = countdown


# --- The sweep ---------------------------------------------------------------------------------


def invitations_send_due(*, now: datetime.datetime | None = None) -> int:
    """Claim every due invitation and reminder and queue its send; returns how many.

    Three kinds of work: first emails that are due, reminders that are due while the link is
    unrated and valid (R7), and claims whose task was lost (a broker outage, a killed worker).
    """
    sweep = _Sweep(now=now or timezone.now())
    for due in (_due_invitations, _due_reminders, _stale_claims):
        sweep.drain(due(sweep.now))
    return sweep.claimed - sweep.unqueued


# Deliberately cross-tenant, all three: the outbox sweep serves every shop of every company.
def _not_paused(queryset: QuerySet, now: datetime.datetime) -> QuerySet:
    """R8: a shop whose staff-approved pause covers today sends nothing; its invitations wait
    (and keep their six-month expiry) until the pause ends."""
    today = timezone.localdate(now)
    return queryset.exclude(
        shop__invitations_paused_from__lte=today, shop__invitations_paused_until__gte=today
    )


def _due_invitations(now: datetime.datetime) -> QuerySet:
    due = Invitation.objects.unscoped().filter(
        status=Status.SCHEDULED, due_at__lte=now, expires_at__gt=now
    )
    return _not_paused(due, now).order_by("due_at")


def _due_reminders(now: datetime.datetime) -> QuerySet:
    due = Invitation.objects.unscoped().filter(
        status=Status.SENT,
        used_at__isnull=True,
        next_reminder_at__lte=now,
        expires_at__gt=now,
        reminders_sent__lt=F("shop__reminder_count"),
    )
    return _not_paused(due, now).order_by("next_reminder_at")


def _stale_claims(now: datetime.datetime) -> QuerySet:
    # claimed_at is cleared when the broker refused the task, so those go out on the next sweep.
    return (
        Invitation.objects.unscoped()
        .filter(status=Status.SENDING)
        .filter(Q(claimed_at__lt=now - LEASE) | Q(claimed_at__isnull=True))
        .order_by(F("claimed_at").asc(nulls_first=True))
    )


@dataclass
class _Sweep:
    now: datetime.datetime
    claimed: int = 0
    unqueued: int = 0
    broker_down: bool = False

    def drain(self, due: QuerySet) -> None:
        for _ in range(MAX_BATCHES):
            if self.broker_down or self._claim_batch(due) < BATCH_SIZE:
                return

    def _claim_batch(self, due: QuerySet) -> int:
        with transaction.atomic():
            # SKIP LOCKED: two sweeps at once (a beat double-fire) split the rows between them.
            rows = due.select_for_update(skip_locked=True, of=("self",))
            ids = list(rows.values_list("pk", flat=True)[:BATCH_SIZE])
            if ids:
                Invitation.objects.unscoped().filter(pk__in=ids).update(
                    status=Status.SENDING, claimed_at=self.now, updated_at=self.now
                )
                # A rolled-back claim queues nothing (FA-4).
                transaction.on_commit(partial(self._enqueue, ids))
        self.claimed += len(ids)
        return len(ids)

    def _enqueue(self, ids: list[int]) -> None:
        from invitations.tasks import send_invitation_email  # the task module imports this one

        for position, invitation_id in enumerate(ids):
            try:
                send_invitation_email.delay(invitation_id)
            except BrokerUnavailable:
                self._keep_for_next_sweep(ids[position:])
                return

    def _keep_for_next_sweep(self, ids: list[int]) -> None:
        """FA-3: the rows stay claimed, without a claim time, so the next sweep queues them."""
        logger.warning(
            "invitation sweep: the broker is unavailable; %d claimed invitations wait for the "
            "next sweep",
            len(ids),
        )
        Invitation.objects.unscoped().filter(pk__in=ids, status=Status.SENDING).update(
            claimed_at=None
        )
        self.unqueued += len(ids)
        self.broker_down = True


# --- One email ---------------------------------------------------------------------------------


def invitation_email_send(*, invitation_id: int, last_try: bool = False) -> str:
    """Send the email the invitation is claimed for. Returns what happened, without personal data.

    Raises ``SendLater`` on a transient failure unless ``last_try``; then the failure is final.
    """
    # Deliberately cross-tenant: the task carries only the id; the row names its tenant.
    company_id = (
        Invitation.objects.unscoped()
        .filter(pk=invitation_id)
        .values_list("company_id", flat=True)
        .first()
    )
    if company_id is None:
        return "missing"
    with tenant_scope(company_id), _invitation_lock(invitation_id) as lock:
        if lock == "busy":
            return "claimed elsewhere"
        return _send_claimed(invitation_id, last_try=last_try, exclusive=lock == "held")


@contextlib.contextmanager
def _invitation_lock(invitation_id: int) -> Iterator[str]:
    """``held`` (we are the only live run), ``busy`` (another run is), or ``unsupported``."""
    if connection.vendor != "postgresql":
        yield "unsupported"
        return
    key = [_LOCK_NAMESPACE, invitation_id % 2**31]
    if not _try_lock(key):
        yield "busy"
        return
    try:
        yield "held"
    finally:
        # A session that died has released the lock already; nothing to undo then.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s::integer, %s::integer)", key)


def _try_lock(key: list[int]) -> bool:
    with connection.cursor() as cursor:
        for attempt in range(_LOCK_TRIES):
            if attempt:
                time.sleep(0.1)
            cursor.execute("SELECT pg_try_advisory_lock(%s::integer, %s::integer)", key)
            if cursor.fetchone()[0]:
                return True
    return False


def email_kind(invitation: Invitation) -> str:
    if invitation.sent_at is None:
        return InvitationEmail.Kind.INVITATION
    return f"reminder_{invitation.reminders_sent + 1}"


def _send_claimed(invitation_id: int, *, last_try: bool, exclusive: bool) -> str:
    invitation = Invitation.objects.select_related("shop", "order").filter(pk=invitation_id).first()
    if invitation is None or invitation.status != Status.SENDING:
        return "not claimed"
    record = _send_record(invitation, email_kind(invitation))
    if not _claim_record(invitation, record, exclusive=exclusive):
        return _settle_from_record(invitation, record)
    record.refresh_from_db(fields=["attempts"])
    if record.attempts > MAX_SEND_ATTEMPTS:
        # A message that kills its worker is redelivered forever; the count in Postgres ends it.
        return _give_up(invitation, record, f"gave up after {MAX_SEND_ATTEMPTS} attempts")
    reason = _reason_not_to_send(invitation)
    if reason is not None:
        return _stop(invitation, record, *reason)
    return _deliver(invitation, record, last_try=last_try)


def _send_record(invitation: Invitation, kind: str) -> InvitationEmail:
    """The send record of this email, created once: unique (invitation, kind)."""
    records = InvitationEmail.objects.for_company(invitation.company_id)
    records.bulk_create(
        [
            InvitationEmail(
                company_id=invitation.company_id,
                shop_id=invitation.shop_id,
                invitation=invitation,
                kind=kind,
                message_id=emails.message_id_for(invitation, kind),
            )
        ],
        ignore_conflicts=True,
    )
    return records.get(invitation=invitation, kind=kind)


def _claim_record(invitation: Invitation, record: InvitationEmail, *, exclusive: bool) -> bool:
    """One conditional UPDATE: this run owns the email, or it does nothing (STYLE.md 3)."""
    now = timezone.now()
    claimable = Q(status__in=[EmailStatus.QUEUED, EmailStatus.RETRY]) | Q(
        status=EmailStatus.SENDING, claimed_at__lt=now - LEASE
    )
    if exclusive:
        # We hold the invitation's lock, so whoever marked this record "sending" is gone: their
        # worker died between claim and stamp and the broker redelivered the task (FA-1).
        claimable |= Q(status=EmailStatus.SENDING)
    claimed = (
        InvitationEmail.objects.filter(pk=record.pk)
        .filter(claimable)
        .update(
            status=EmailStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
        )
    )
    if claimed:
        # A fresh claim time keeps the sweep away while this email is worked on or waits to retry.
        _update_invitation(invitation, claimed_at=now, send_attempts=F("send_attempts") + 1)
    return bool(claimed)


def _settle_from_record(invitation: Invitation, record: InvitationEmail) -> str:
    """The record was not claimable: finish the invitation if its email already has an outcome."""
    record.refresh_from_db(fields=["status", "sent_at", "last_error"])
    if record.status == EmailStatus.SENT:
        # The email went out but the invitation never learnt it: finish, never send again.
        sent_at = record.sent_at or timezone.now()
        _update_invitation(invitation, **_sent_fields(invitation, record.kind, sent_at))
        return "already sent"
    if record.status in (EmailStatus.BOUNCED, EmailStatus.FAILED):
        _update_invitation(invitation, **_end_fields(invitation, record.last_error))
        return "already failed"
    return "claimed elsewhere"


def _reason_not_to_send(invitation: Invitation) -> tuple[str, str] | None:
    """R6, R7 and R9, checked again right before SMTP: things change while an email waits."""
    if invitation.used_at is not None:
        return Status.RATED, ""
    if invitation.expires_at <= timezone.now():
        return Status.EXPIRED, ""
    if not invitation.order.consent:
        return Status.SUPPRESSED, Invitation.SuppressionReason.NO_CONSENT
    if not invitation.email:
        return Status.SUPPRESSED, Invitation.SuppressionReason.NO_EMAIL
    suppressed = (
        Suppression.objects.filter(
            shop_id=invitation.shop_id, email_digest=email_digest(invitation.email)
        )
        .values_list("reason", flat=True)
        .first()
    )
    if suppressed:
        return Status.SUPPRESSED, suppressed
    return None


def _stop(invitation: Invitation, record: InvitationEmail, target: str, reason: str) -> str:
    outcome = f"not sent: {reason or target}"
    if target == Status.SUPPRESSED and invitation.sent_at is not None:
        # A reminder: the invitation itself went out, so it stays "sent", without reminders.
        fields = {"status": Status.SENT, "next_reminder_at": None}
    else:
        fields = {"status": target, "suppression_reason": reason}
    with transaction.atomic():
        _update_record(record, status=EmailStatus.FAILED, last_error=outcome)
        _update_invitation(invitation, **fields)
    logger.info("invitation %s: %s %s", invitation.public_id, record.kind, outcome)
    return outcome


def _deliver(invitation: Invitation, record: InvitationEmail, *, last_try: bool) -> str:
    message = emails.invitation_message(invitation, kind=record.kind, connection=get_connection())
    try:
        message.send()  # EMAIL_TIMEOUT bounds every socket operation (FA-6)
    except (OSError, SoftTimeLimitExceeded) as exc:  # smtplib's errors are OSErrors
        return _after_failure(invitation, record, exc, last_try=last_try)
    now = timezone.now()
    with transaction.atomic():
        _update_record(record, status=EmailStatus.SENT, sent_at=now, last_error="")
        _update_invitation(invitation, **_sent_fields(invitation, record.kind, now))
    logger.info("invitation %s: %s sent", invitation.public_id, record.kind)
    return "sent"


def _sent_fields(invitation: Invitation, kind: str, now: datetime.datetime) -> dict:
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


def _end_fields(invitation: Invitation, error: str) -> dict:
    """A final failure: the invitation failed, or, for a reminder, just gets no more reminders."""
    if invitation.sent_at is None:
        return {"status": Status.FAILED, "last_error": error}
    return {"status": Status.SENT, "next_reminder_at": None, "last_error": error}


def _after_failure(
    invitation: Invitation, record: InvitationEmail, exc: BaseException, *, last_try: bool
) -> str:
    error = describe_send_error(exc)
    if is_permanent_refusal(exc):
        return _bounce(invitation, record, error)
    if last_try or record.attempts >= MAX_SEND_ATTEMPTS:
        return _give_up(invitation, record, error)
    _update_record(record, status=EmailStatus.RETRY, last_error=error)  # release the claim
    logger.info("invitation %s: %s will be retried (%s)", invitation.public_id, record.kind, error)
    raise SendLater(error, countdown=retry_countdown(record.attempts))


def _bounce(invitation: Invitation, record: InvitationEmail, error: str) -> str:
    """A hard bounce: never write to this address from this shop again (R6, ID-4b)."""
    with transaction.atomic():
        _update_record(record, status=EmailStatus.BOUNCED, last_error=error)
        _update_invitation(invitation, **_end_fields(invitation, error))
        suppression_add(
            shop=invitation.shop,
            digest=email_digest(invitation.email),
            reason=Suppression.Reason.BOUNCED,
        )
    logger.warning("invitation %s: %s bounced (%s)", invitation.public_id, record.kind, error)
    return "bounced"


def _give_up(invitation: Invitation, record: InvitationEmail, error: str) -> str:
    with transaction.atomic():
        _update_record(record, status=EmailStatus.FAILED, last_error=error)
        _update_invitation(invitation, **_end_fields(invitation, error))
    logger.warning("invitation %s: %s failed (%s)", invitation.public_id, record.kind, error)
    return "failed"


def _update_record(record: InvitationEmail, **fields) -> None:
    # Only the run that claimed the record moves it on.
    InvitationEmail.objects.filter(pk=record.pk, status=EmailStatus.SENDING).update(
        **fields, updated_at=timezone.now()
    )


def _update_invitation(invitation: Invitation, **fields) -> None:
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


# --- Suppression (R6) --------------------------------------------------------------------------


def suppression_add(*, shop: Shop, digest: str, reason: str) -> None:
    """Idempotent: the first reason recorded for an address stays."""
    Suppression.objects.for_company(shop.company_id).bulk_create(
        [Suppression(company_id=shop.company_id, shop=shop, email_digest=digest, reason=reason)],
        ignore_conflicts=True,
    )


def address_unsubscribe(*, shop: Shop, digest: str) -> int:
    """One-click unsubscribe (R6, R41): this shop never invites or reminds this address again.

    Scheduled invitations become suppressed; sent ones keep their status and lose their
    remaining reminders. Other shops' invitations for the address are untouched. Returns how
    many invitations changed.
    """
    now = timezone.now()
    manager = Invitation.objects.for_company(shop.company_id)
    with transaction.atomic():
        suppression_add(shop=shop, digest=digest, reason=Suppression.Reason.UNSUBSCRIBED)
        ids = _open_invitation_ids(shop, digest)
        changed = manager.filter(pk__in=ids, status=Status.SCHEDULED).update(
            status=Status.SUPPRESSED,
            suppression_reason=Invitation.SuppressionReason.UNSUBSCRIBED,
            updated_at=now,
        )
        changed += (
            manager.filter(pk__in=ids, status=Status.SENT)
            .exclude(next_reminder_at=None)
            .update(next_reminder_at=None, updated_at=now)
        )
    logger.info("shop %s: an address unsubscribed; %d invitations stopped", shop.pk, changed)
    return changed


def _open_invitation_ids(shop: Shop, digest: str) -> list[int]:
    # Only the digest is known, so the shop's open invitations are matched by theirs.
    rows = (
        Invitation.objects.for_company(shop.company_id)
        .filter(shop=shop, status__in=[Status.SCHEDULED, Status.SENT], used_at__isnull=True)
        .exclude(email="")
        .values_list("pk", "email")
    )
    return [pk for pk, email in rows.iterator(chunk_size=2000) if email_digest(email) == digest]
