"""Sending claimed invitations: a batch over one SMTP connection, or one email on its own
(ID-4, FA-1, FA-2, FA-6).

A run holds the invitations' advisory locks (``session``), reads the batch and claims its send
records in a few set-based statements, checks consent and suppression again right before each
email, stamps each record as soon as the server answered and the invitations at the end. What
fails transiently, and what a dead run had claimed, goes on alone in ``send_invitation_email``.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial, reduce
from operator import or_

from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from companies.tenancy import tenant_scope
from invitations import emails
from invitations.models import Invitation, InvitationEmail, Suppression, email_digest
from invitations.sending.limits import LEASE, MAX_SEND_ATTEMPTS
from invitations.sending.mailer import Mailer
from invitations.sending.outcomes import (
    bounce,
    describe_send_error,
    give_up,
    is_permanent_refusal,
    reason_not_to_send,
    record_sent,
    retry_countdown,
    sent_fields,
    settle_from_record,
    stop,
    update_record,
)
from invitations.sending.session import commits_without_disk_wait, invitation_locks

logger = logging.getLogger(__name__)

Status = Invitation.Status
EmailStatus = InvitationEmail.Status
# Row stamps a send run never reads: six of the seventeen timestamps of a row, each a value to
# parse (ekomi/timestamps.py). A deferred field read would cost a query per email, which the
# statement-count test of the batch catches.
_UNUSED_STAMPS = (
    "created_at",
    "updated_at",
    "shop__created_at",
    "shop__updated_at",
    "order__created_at",
    "order__updated_at",
)


class SendLater(Exception):
    """A transient failure: the claim is released and the task retries after ``countdown``."""

    def __init__(self, reason: str, countdown: float):
        super().__init__(reason)
        self.countdown = countdown


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
    with invitation_locks(ids) as (held, exclusive):
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
        self.ahead: dict[int, EmailMultiAlternatives] = {}  # rendered while the server was busy
        self.late: SoftTimeLimitExceeded | None = None  # the time limit, struck meanwhile
        self.stamps = None  # the cursor of the send records' stamps while delivering

    def send(self, ids: list[int]) -> None:
        claimed = self._claim(self._read(ids))
        if not claimed:
            return
        self._read_suppressions(claimed)
        self.lookups = emails.BatchLookups.read(email.invitation for email in claimed)
        try:
            with commits_without_disk_wait():
                self._deliver(claimed)
        finally:
            self._stamp_invitations()

    # Reading and claiming ----------------------------------------------------------------------

    def _read(self, ids: list[int]) -> list[_Email]:
        # Deliberately cross-tenant: the task carries only ids; each row names its tenant, and
        # each email is rendered and finished in its tenant's scope.
        rows = (
            Invitation.objects.unscoped()
            .select_related("shop", "order")
            .defer(*_UNUSED_STAMPS)
            .in_bulk(ids)
        )
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
            self.outcomes[email.pk] = settle_from_record(email.invitation, email.record)

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
                self.outcomes[email.pk] = give_up(invitation, record, error)
                return False
            suppression = self.suppressed.get(email.address) if invitation.email else None
            reason = reason_not_to_send(invitation, suppression=suppression)
            if reason is not None:
                self.outcomes[email.pk] = stop(invitation, record, *reason)
                return False
        return True

    # Sending ----------------------------------------------------------------------------------

    def _deliver(self, pending: list[_Email]) -> None:
        mailer = Mailer()
        # One cursor for every stamp of the run: building one per email cost more than binding it.
        self.stamps = connection.cursor()
        try:
            for position, email in enumerate(pending):
                if not self._may_send(email):
                    continue
                following = pending[position + 1 : position + 2]
                if not self._send_one(mailer, email, following=following):
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
            stamps, self.stamps = self.stamps, None
            with contextlib.suppress(DatabaseError):
                stamps.close()

    def _send_one(self, mailer: Mailer, email: _Email, *, following: list[_Email]) -> bool:
        """Render, send and stamp one email; False when the batch must stop. The ``following``
        email is rendered while the server reads this one."""
        invitation = email.invitation
        with tenant_scope(invitation.company_id):
            message = self.ahead.pop(email.pk, None) or self._render(email)
            try:
                # EMAIL_TIMEOUT bounds every socket operation (FA-6).
                mailer.send(message, meanwhile=partial(self._render_ahead, mailer, following))
            except (OSError, SoftTimeLimitExceeded) as exc:  # smtplib's errors are OSErrors
                self._failed(email, exc)
                mailer.failed(exc)
                self._raise_if_late()
                return not (mailer.down or isinstance(exc, SoftTimeLimitExceeded))
            email.sent_at = timezone.now()
            self._sent(email)
            self._raise_if_late()
        return True

    def _render(self, email: _Email) -> EmailMultiAlternatives:
        return emails.invitation_message(email.invitation, kind=email.kind, lookups=self.lookups)

    def _render_ahead(self, mailer: Mailer, following: list[_Email]) -> None:
        """Rendering and writing a message have no effects: whether the email goes out is
        decided in its own turn."""
        for email in following:
            try:
                with tenant_scope(email.invitation.company_id):
                    self.ahead[email.pk] = self._render(email)
                    mailer.prepare(self.ahead[email.pk])
            except SoftTimeLimitExceeded as exc:
                # Struck while the server reads the current email: its answer is read and
                # stamped first, then the batch stops as between two emails.
                self.late = exc
            except Exception:  # rendered again in its own turn, where a failure belongs
                self.ahead.pop(email.pk, None)

    def _raise_if_late(self) -> None:
        if self.late is not None:
            raise self.late

    def _sent(self, email: _Email) -> None:
        # The record at once and on its own: once it says "sent", no run sends this email again.
        # The invitations follow, set-based, at the end of the batch (``_stamp_invitations``).
        record_sent(email.record, email.sent_at, cursor=self.stamps)
        self.to_stamp.append(email)
        self.outcomes[email.pk] = "sent"
        # DEBUG: the send record has it, and the task logs each batch's summary at INFO.
        logger.debug("invitation %s: %s sent", email.invitation.public_id, email.kind)

    def _failed(self, email: _Email, exc: BaseException) -> None:
        invitation, record = email.invitation, email.record
        error = describe_send_error(exc)
        if is_permanent_refusal(exc):
            self.outcomes[email.pk] = bounce(invitation, record, error)
            # R6: nor does the rest of this batch write to the address.
            self.suppressed[email.address] = Suppression.Reason.BOUNCED
        elif self.last_try or record.attempts >= MAX_SEND_ATTEMPTS:
            self.outcomes[email.pk] = give_up(invitation, record, error)
        else:
            update_record(record, status=EmailStatus.RETRY, last_error=error)  # release it
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
        be finished by the next run (``settle_from_record``), never sent again."""
        stamped, self.to_stamp = self.to_stamp, []
        if not stamped:
            return
        now = max(email.sent_at for email in stamped)
        groups: dict[tuple, list[int]] = defaultdict(list)
        for email in stamped:
            fields = sent_fields(email.invitation, email.kind, now)
            groups[tuple(sorted(fields.items()))].append(email.pk)
        # Cross-tenant by primary key: invitations this run claimed and that are still its own.
        with transaction.atomic():
            for fields, ids in groups.items():
                Invitation.objects.unscoped().filter(pk__in=ids, status=Status.SENDING).update(
                    **dict(fields), updated_at=timezone.now()
                )


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
