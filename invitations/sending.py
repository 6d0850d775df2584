"""Sending invitations and reminders: the invitation table is the outbox (R6, R7, TESTPLAN FA-3).

``invitations_send_due`` (Celery beat, every minute; also ``manage.py send_invitations``) claims
due rows with a conditional UPDATE and, once the claim is committed, queues one
``send_invitation_emails(ids)`` task per ``SEND_BATCH_SIZE`` of them. The task calls
``invitation_emails_send``, which sends the batch over one SMTP connection. Each email still has
its send record (unique per invitation and kind) claimed before SMTP and stamped right after the
server's answer, and consent and suppression are checked again before it goes out (STYLE.md 3-4,
TESTPLAN ID-4); reading the batch, claiming its records and stamping its invitations are a few
set-based statements per batch. An email that fails transiently is released and retried on its
own by ``send_invitation_email(id)`` with backoff while the rest of the batch goes on; a hard
bounce suppresses just that address.

Delivery is at least once: a worker killed between the SMTP answer and the record's stamp sends
that email again on redelivery, with the same Message-ID (FA-1); so does a crash of Postgres
itself within a fraction of a second of the stamp (``_commits_without_disk_wait``). Every other
duplicate, whether a beat double-fire, a re-queued stale claim or the same task twice, sends
nothing.

While a run works on invitations it holds a Postgres advisory lock on each. The lock ends with
the database session, so a redelivered task can tell a dead claimant (lock free) from a live one
(lock held) without waiting for the lease. A batch hands the emails a dead run had claimed to one
``send_invitation_email`` task each, so an email that kills its worker is counted, and given up,
on its own (FA-2). Without Postgres (the embedded SQLite mode) only the lease applies.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import random
import smtplib
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial, reduce
from operator import or_

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
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

# A claim older than this is stale: above the send tasks' hard time limits plus the longest
# retry backoff, so only a claim whose task was lost is ever re-queued.
LEASE = datetime.timedelta(minutes=10)
BATCH_SIZE = 200  # claimed per sweep transaction
MAX_BATCHES = 25  # per kind of work and sweep; the rest waits a minute for the next sweep
# Emails per send task and SMTP connection. A batch costs about ten statements plus one per
# email, so 100 puts the fixed part well under a statement per email, and a batch still ends
# far inside its time limit (bench "email" measured 50, 100 and 200).
SEND_BATCH_SIZE = 100
MAX_RETRIES = 5
MAX_SEND_ATTEMPTS = MAX_RETRIES + 1  # counted in Postgres: the broker keeps no retry count
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 300
SEND_SOFT_TIME_LIMIT = 45
SEND_TIME_LIMIT = 60
# At its soft limit a batch stops cleanly and releases what it has not sent.
BATCH_SOFT_TIME_LIMIT = 120
BATCH_TIME_LIMIT = 150
# Connections lost in a row (timeouts, drops) before a batch takes the SMTP server for down.
MAX_CONNECTION_LOSSES = 2
_LOCK_NAMESPACE = zlib.crc32(b"invitations.send") & 0x7FFFFFFF
_LOCK_TRIES = 5  # a killed worker's session ends within milliseconds; wait for it briefly
# The same (namespace, id mod 2^31) keys as pg_try_advisory_lock(int, int) on one invitation.
_LOCK_SQL = (
    "SELECT id FROM unnest(%s::bigint[]) AS id "
    "WHERE pg_try_advisory_lock(%s::integer, mod(id, 2147483648)::integer)"
)
_UNLOCK_SQL = (
    "SELECT pg_advisory_unlock(%s::integer, mod(id, 2147483648)::integer) "
    "FROM unnest(%s::bigint[]) AS id"
)

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
        from invitations.tasks import send_invitation_emails  # the task module imports this one

        for start in range(0, len(ids), SEND_BATCH_SIZE):
            try:
                send_invitation_emails.delay(ids[start : start + SEND_BATCH_SIZE])
            except BrokerUnavailable:
                self._keep_for_next_sweep(ids[start:])
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


# --- Sending: a batch over one connection, or one email -----------------------------------------


@dataclass
class SendResult:
    """What a run did: an outcome per invitation, and the emails to send again on their own."""

    outcomes: dict[int, str] = field(default_factory=dict)
    # invitation id -> (why, seconds to wait); each goes to its own ``send_invitation_email``
    retries: dict[int, tuple[str, float]] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        return dict(Counter(self.outcomes.values()))


def invitation_emails_send(*, invitation_ids: Sequence[int]) -> dict[str, int]:
    """Send the emails a batch of invitations is claimed for, over one SMTP connection.

    Every email that failed transiently, or that a dead run had claimed, is queued again on its
    own. Returns how many emails ended how, without personal data.
    """
    result = _send(invitation_ids, last_try=False, take_over=False)
    _queue_retries(result.retries)
    return result.summary()


def invitation_email_send(*, invitation_id: int, last_try: bool = False) -> str:
    """Send the one email the invitation is claimed for. Returns what happened, without personal
    data. Raises ``SendLater`` on a transient failure unless ``last_try``; then it is final."""
    result = _send([invitation_id], last_try=last_try, take_over=True)
    if invitation_id in result.retries:
        reason, countdown = result.retries[invitation_id]
        raise SendLater(reason, countdown=countdown)
    return result.outcomes[invitation_id]


def _send(invitation_ids: Sequence[int], *, last_try: bool, take_over: bool) -> SendResult:
    ids = list(dict.fromkeys(invitation_ids))
    result = SendResult()
    with _invitation_locks(ids) as (held, exclusive):
        run = _Run(result, last_try=last_try, exclusive=exclusive, take_over=take_over)
        run.send([pk for pk in ids if pk in held])
    for pk in ids:
        result.outcomes.setdefault(pk, "claimed elsewhere")
    return result


def _queue_retries(retries: dict[int, tuple[str, float]]) -> None:
    from invitations.tasks import send_invitation_email  # the task module imports this one

    pending = list(retries.items())
    for position, (invitation_id, (_, countdown)) in enumerate(pending):
        try:
            send_invitation_email.apply_async((invitation_id,), countdown=countdown)
        except BrokerUnavailable:
            ids = [pk for pk, _ in pending[position:]]
            logger.warning("invitation batch: the broker is unavailable; %d retries wait for the "
                           "next sweep", len(ids))  # fmt: skip
            # FA-3: without a claim time the next sweep queues them again.
            Invitation.objects.unscoped().filter(pk__in=ids, status=Status.SENDING).update(
                claimed_at=None
            )
            return


@contextlib.contextmanager
def _invitation_locks(ids: list[int]) -> Iterator[tuple[set[int], bool]]:
    """The ids this run holds and whether that is exclusive (without Postgres: all, and not)."""
    if connection.vendor != "postgresql":
        yield set(ids), False
        return
    held = _try_locks(ids)
    try:
        yield held, True
    finally:
        # A session that died has released its locks already; nothing to undo then.
        if held:
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute(_UNLOCK_SQL, [_LOCK_NAMESPACE, sorted(held)])


def _try_locks(ids: list[int]) -> set[int]:
    held: set[int] = set()
    with connection.cursor() as cursor:
        for attempt in range(_LOCK_TRIES):
            wanted = [pk for pk in ids if pk not in held]
            if not wanted:
                break
            if attempt:
                time.sleep(0.1)
            cursor.execute(_LOCK_SQL, [wanted, _LOCK_NAMESPACE])
            held.update(pk for (pk,) in cursor.fetchall())
    return held


def email_kind(invitation: Invitation) -> str:
    if invitation.sent_at is None:
        return InvitationEmail.Kind.INVITATION
    return f"reminder_{invitation.reminders_sent + 1}"


@dataclass
class _Email:
    """One email of a run: its invitation (with shop and order), kind and send record."""

    invitation: Invitation
    kind: str
    record: InvitationEmail | None = None
    sent_at: datetime.datetime | None = None  # set once the server accepted it

    @property
    def pk(self) -> int:
        return self.invitation.pk

    @cached_property
    def address(self) -> tuple[int, str]:
        """(shop, address digest): what a suppression matches (R6)."""
        return self.invitation.shop_id, email_digest(self.invitation.email)


class _Run:
    """One run over claimed invitations: set-based reads, claims and stamps, one SMTP connection.

    ``take_over``: a record a dead run left "sending" is claimed and sent here (the one-email
    task, FA-1); otherwise such emails go to a task each (a batch, FA-2).
    """

    def __init__(self, result: SendResult, *, last_try: bool, exclusive: bool, take_over: bool):
        self.result = result
        self.outcomes = result.outcomes
        self.last_try = last_try
        self.exclusive = exclusive
        self.take_over = take_over and exclusive
        self.suppressed: dict[tuple[int, str], str] = {}
        self.lookups: emails.BatchLookups | None = None
        self.to_stamp: list[_Email] = []

    def send(self, ids: list[int]) -> None:
        claimed = self._claim(self._read(ids))
        if not claimed:
            return
        self._read_suppressions(claimed)
        self.lookups = emails.BatchLookups.read(email.invitation for email in claimed)
        try:
            with _commits_without_disk_wait():
                self._deliver(claimed)
        finally:
            self._stamp_invitations()

    # Reading and claiming ----------------------------------------------------------------------

    def _read(self, ids: list[int]) -> list[_Email]:
        # Deliberately cross-tenant: the task carries only ids; each row names its tenant, and
        # each email is rendered and finished in its tenant's scope.
        rows = Invitation.objects.unscoped().select_related("shop", "order").in_bulk(ids)
        pending = []
        for pk in ids:
            invitation = rows.get(pk)
            if invitation is None:
                self.outcomes[pk] = "missing"
            elif invitation.status != Status.SENDING:
                self.outcomes[pk] = "not claimed"
            else:
                pending.append(_Email(invitation, email_kind(invitation)))
        return pending

    def _claim(self, pending: list[_Email]) -> list[_Email]:
        """Create the send records once and claim every claimable one, in one transaction: a
        conditional UPDATE, so only this run sends what it claimed (STYLE.md 3-4)."""
        if not pending:
            return []
        now = timezone.now()
        # Cross-tenant by primary key: the rows read above, each created with its own company.
        records = InvitationEmail.objects.unscoped()
        mine = _records_of(pending)
        with transaction.atomic():
            records.bulk_create([_new_record(email) for email in pending], ignore_conflicts=True)
            records.filter(mine).filter(_claimable(now, take_over=self.take_over)).update(
                status=EmailStatus.SENDING,
                claimed_at=now,
                attempts=F("attempts") + 1,
                updated_at=now,
            )
            by_invitation = {record.invitation_id: record for record in records.filter(mine)}
            for email in pending:
                email.record = by_invitation[email.pk]
            claimed = [e for e in pending if _claimed_by_this_run(e.record, now)]
            # A fresh claim time keeps the sweep away while these are worked on or wait to retry.
            Invitation.objects.unscoped().filter(
                pk__in=[email.pk for email in claimed], status=Status.SENDING
            ).update(claimed_at=now, send_attempts=F("send_attempts") + 1, updated_at=now)
        for email in pending:
            if not _claimed_by_this_run(email.record, now):
                self._not_claimed(email)
        return claimed

    def _not_claimed(self, email: _Email) -> None:
        if self.exclusive and email.record.status == EmailStatus.SENDING:
            # We hold the lock, so the run that claimed it is dead, and this may be the email
            # that killed it: it goes on alone, where each try counts (MAX_SEND_ATTEMPTS).
            self._retry_alone(email, "claimed by a run that stopped", countdown=0, outcome="alone")
            return
        with tenant_scope(email.invitation.company_id):
            self.outcomes[email.pk] = _settle_from_record(email.invitation, email.record)

    def _read_suppressions(self, claimed: list[_Email]) -> None:
        addressed = [email for email in claimed if email.invitation.email]
        if not addressed:
            return
        # Deliberately cross-tenant, one read for the batch; matched by (shop, digest) below.
        rows = Suppression.objects.unscoped().filter(
            shop_id__in={email.address[0] for email in addressed},
            email_digest__in={email.address[1] for email in addressed},
        )
        for shop_id, digest, reason in rows.values_list("shop_id", "email_digest", "reason"):
            self.suppressed[shop_id, digest] = reason

    def _may_send(self, email: _Email) -> bool:
        """Checked right before each email: a bounce earlier in the batch counts too (R6)."""
        invitation, record = email.invitation, email.record
        with tenant_scope(invitation.company_id):
            if record.attempts > MAX_SEND_ATTEMPTS:
                # A message that kills its worker is redelivered forever; the count ends it.
                error = f"gave up after {MAX_SEND_ATTEMPTS} attempts"
                self.outcomes[email.pk] = _give_up(invitation, record, error)
                return False
            suppression = self.suppressed.get(email.address) if invitation.email else None
            reason = _reason_not_to_send(invitation, suppression=suppression)
            if reason is not None:
                self.outcomes[email.pk] = _stop(invitation, record, *reason)
                return False
        return True

    # Sending ----------------------------------------------------------------------------------

    def _deliver(self, pending: list[_Email]) -> None:
        mailer = _Mailer()
        try:
            for position, email in enumerate(pending):
                if not self._may_send(email):
                    continue
                if not self._send_one(mailer, email):
                    self._release_untried(pending[position + 1 :], "the mail server is down")
                    return
        except SoftTimeLimitExceeded:
            # The time limit struck between two SMTP conversations.
            for email in pending:
                if email.sent_at is not None and email.pk not in self.outcomes:
                    self._sent(email)
            self._release_untried(pending, "the batch ran out of time")
        finally:
            mailer.close()

    def _send_one(self, mailer: _Mailer, email: _Email) -> bool:
        """Render, send and stamp one email; False when the batch must stop."""
        invitation = email.invitation
        with tenant_scope(invitation.company_id):
            message = emails.invitation_message(invitation, kind=email.kind, lookups=self.lookups)
            try:
                mailer.send(message)  # EMAIL_TIMEOUT bounds every socket operation (FA-6)
            except (OSError, SoftTimeLimitExceeded) as exc:  # smtplib's errors are OSErrors
                self._failed(email, exc)
                mailer.failed(exc)
                return not (mailer.down or isinstance(exc, SoftTimeLimitExceeded))
            email.sent_at = timezone.now()
            self._sent(email)
        return True

    def _sent(self, email: _Email) -> None:
        # The record at once and on its own: once it says "sent", no run sends this email again.
        # The invitations follow, set-based, at the end of the batch (``_stamp_invitations``).
        _update_record(email.record, status=EmailStatus.SENT, sent_at=email.sent_at, last_error="")
        self.to_stamp.append(email)
        self.outcomes[email.pk] = "sent"
        # DEBUG: the send record has it, and the task logs each batch's summary at INFO.
        logger.debug("invitation %s: %s sent", email.invitation.public_id, email.kind)

    def _failed(self, email: _Email, exc: BaseException) -> None:
        invitation, record = email.invitation, email.record
        error = describe_send_error(exc)
        if is_permanent_refusal(exc):
            self.outcomes[email.pk] = _bounce(invitation, record, error)
            # R6: nor does the rest of this batch write to the address.
            self.suppressed[email.address] = Suppression.Reason.BOUNCED
        elif self.last_try or record.attempts >= MAX_SEND_ATTEMPTS:
            self.outcomes[email.pk] = _give_up(invitation, record, error)
        else:
            _update_record(record, status=EmailStatus.RETRY, last_error=error)  # release it
            logger.info(
                "invitation %s: %s will be retried (%s)", invitation.public_id, email.kind, error
            )
            self._retry_alone(email, error, countdown=retry_countdown(record.attempts))

    def _retry_alone(
        self, email: _Email, reason: str, *, countdown: float, outcome: str = "retry"
    ) -> None:
        self.result.retries[email.pk] = (reason, countdown)
        self.outcomes[email.pk] = outcome

    def _release_untried(self, rest: list[_Email], reason: str) -> None:
        """Emails the batch will not try: each waits for a retry of its own, its claim undone,
        so that attempts count tries."""
        rest = [email for email in rest if email.pk not in self.outcomes]
        if not rest:
            return
        now = timezone.now()
        # Cross-tenant by primary key: records and invitations this run claimed.
        with transaction.atomic():
            InvitationEmail.objects.unscoped().filter(
                pk__in=[email.record.pk for email in rest], status=EmailStatus.SENDING
            ).update(status=EmailStatus.RETRY, attempts=F("attempts") - 1, updated_at=now)
            Invitation.objects.unscoped().filter(
                pk__in=[email.pk for email in rest], status=Status.SENDING
            ).update(send_attempts=F("send_attempts") - 1, updated_at=now)
        logger.warning("invitation batch: %s; %d emails wait for a retry", reason, len(rest))
        for email in rest:
            attempts = max(email.record.attempts - 1, 1)
            self._retry_alone(email, reason, countdown=retry_countdown(attempts))

    def _stamp_invitations(self) -> None:
        """Each sent email's invitation moves on (R7: next reminder), in one UPDATE per distinct
        set of values: their records say "sent" already, so a crash before this leaves them to
        be finished by the next run (``_settle_from_record``), never sent again."""
        stamped, self.to_stamp = self.to_stamp, []
        if not stamped:
            return
        now = max(email.sent_at for email in stamped)
        groups: dict[tuple, list[int]] = defaultdict(list)
        for email in stamped:
            fields = _sent_fields(email.invitation, email.kind, now)
            groups[tuple(sorted(fields.items()))].append(email.pk)
        # Cross-tenant by primary key: invitations this run claimed and that are still its own.
        with transaction.atomic():
            for fields, ids in groups.items():
                Invitation.objects.unscoped().filter(pk__in=ids, status=Status.SENDING).update(
                    **dict(fields), updated_at=timezone.now()
                )


@contextlib.contextmanager
def _commits_without_disk_wait() -> Iterator[None]:
    """Commits in the block return before their WAL is on disk (``synchronous_commit`` off).

    For the send records' stamps, one per email: a commit is visible to every session at once,
    so a killed worker loses none of them (FA-1, FA-2 are unchanged). Only a crash of Postgres
    itself can lose the newest stamps (at most ~0.6 s, three ``wal_writer_delay``); those emails
    are then sent once more, with their Message-ID. The batch's last commit is synchronous and
    makes every stamp before it durable.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        # The connection serves other tasks next: never leave the setting behind.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _durable_commit() -> None:
    """In a transaction inside ``_commits_without_disk_wait``: this one waits for the disk."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO on")


def _records_of(pending: list[_Email]) -> Q:
    """The send records of these emails: (invitation, kind), grouped by kind."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for email in pending:
        by_kind[email.kind].append(email.pk)
    return reduce(or_, (Q(kind=kind, invitation_id__in=ids) for kind, ids in by_kind.items()))


def _new_record(email: _Email) -> InvitationEmail:
    invitation = email.invitation
    return InvitationEmail(
        company_id=invitation.company_id,
        shop_id=invitation.shop_id,
        invitation=invitation,
        kind=email.kind,
        message_id=emails.message_id_for(invitation, email.kind),
    )


def _claimable(now: datetime.datetime, *, take_over: bool) -> Q:
    claimable = Q(status__in=[EmailStatus.QUEUED, EmailStatus.RETRY]) | Q(
        status=EmailStatus.SENDING, claimed_at__lt=now - LEASE
    )
    if take_over:
        # We hold the invitation's lock, so whoever marked this record "sending" is gone: their
        # worker died between claim and stamp and the broker redelivered the task (FA-1).
        claimable |= Q(status=EmailStatus.SENDING)
    return claimable


def _claimed_by_this_run(record: InvitationEmail, now: datetime.datetime) -> bool:
    # Another run's claim has another time: claims happen under the invitation's lock.
    return record.status == EmailStatus.SENDING and record.claimed_at == now


class _Mailer:
    """A run's one SMTP connection: opened for the first email, kept, reopened after a loss."""

    def __init__(self) -> None:
        self.backend = get_connection()
        self.is_open = False
        self.losses = 0  # connections lost in a row
        self.down = False

    def send(self, message: EmailMessage) -> None:
        if not self.is_open:
            try:
                self.backend.open()
            except (OSError, SoftTimeLimitExceeded):
                self.down = True  # refused, timed out or turned us away: stop the batch
                raise
            self.is_open = True
        self.backend.send_messages([message])
        self.losses = 0

    def failed(self, exc: BaseException) -> None:
        """After a failed send: keep a connection whose server answered, drop any other."""
        if _server_answered(exc):
            return
        self.losses += 1
        self.down = self.down or self.losses >= MAX_CONNECTION_LOSSES
        self._drop()

    def _drop(self) -> None:
        # No QUIT: a server that stopped answering would hold it for the whole timeout again.
        self.is_open = False
        smtp = getattr(self.backend, "connection", None)
        if smtp is not None:
            self.backend.connection = None
            with contextlib.suppress(OSError):
                smtp.close()

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            with contextlib.suppress(OSError):  # smtplib's errors are OSErrors
                self.backend.close()


def _server_answered(exc: BaseException) -> bool:
    """The server refused this message and is still talking (smtplib reset the transaction);
    421 is the server closing the connection."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code != 421 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code != 421


def _settle_from_record(invitation: Invitation, record: InvitationEmail) -> str:
    """The record was not claimable: finish the invitation if its email already has an outcome."""
    if record.status == EmailStatus.SENT:
        # The email went out but the invitation never learnt it: finish, never send again.
        sent_at = record.sent_at or timezone.now()
        _update_invitation(invitation, **_sent_fields(invitation, record.kind, sent_at))
        return "already sent"
    if record.status in (EmailStatus.BOUNCED, EmailStatus.FAILED):
        _update_invitation(invitation, **_end_fields(invitation, record.last_error))
        return "already failed"
    return "claimed elsewhere"


def _reason_not_to_send(
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


def _bounce(invitation: Invitation, record: InvitationEmail, error: str) -> str:
    """A hard bounce: never write to this address from this shop again (R6, ID-4b)."""
    with transaction.atomic():
        _durable_commit()  # the suppression outlives even a crash of Postgres
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
