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

Per email a batch does only what differs between emails: it fills the batch's compiled templates
with the email's values (``invitations.emails_compiled``), writes the message bytes Django's SMTP
backend would write (``mime``), sends them and stamps the record in one statement; everything
else is read, claimed, rendered or folded once per batch.

Delivery is at least once: a worker killed between the SMTP answer and the record's stamp sends
that email again on redelivery, with the same Message-ID (FA-1); so does a crash of Postgres
itself within a fraction of a second of the stamp (``session.commits_without_disk_wait``).
Every other duplicate, whether a beat double-fire, a re-queued stale claim or the same task
twice, sends nothing.

While a run works on invitations it holds a Postgres advisory lock on each. The lock ends with
the database session, so a redelivered task can tell a dead claimant (lock free) from a live one
(lock held) without waiting for the lease. A batch hands the emails a dead run had claimed to one
``send_invitation_email`` task each, so an email that kills its worker is counted, and given up,
on its own (FA-2). Without Postgres (the embedded SQLite mode) only the lease applies.

The modules: ``sweep`` (the due, reminder and stale-claim sweep and the queueing), ``batch`` (a
run over one SMTP connection, or one email), ``outcomes`` (how an email ends: stamps, bounces,
retries and the helpers that decide them), ``suppression`` (the suppression list and
unsubscribing), ``mailer`` (the SMTP connection), ``mime`` (the message bytes), ``session``
(advisory locks and commits) and ``limits`` (lease, sizes, retries and time limits).
"""

from invitations.sending.batch import (
    SendLater,
    SendResult,
    email_kind,
    invitation_email_send,
    invitation_emails_send,
)
from invitations.sending.limits import (
    BATCH_SIZE,
    BATCH_SOFT_TIME_LIMIT,
    BATCH_TIME_LIMIT,
    LEASE,
    MAX_BATCHES,
    MAX_CONNECTION_LOSSES,
    MAX_RETRIES,
    MAX_SEND_ATTEMPTS,
    RETRY_BASE_SECONDS,
    RETRY_MAX_SECONDS,
    SEND_BATCH_SIZE,
    SEND_SOFT_TIME_LIMIT,
    SEND_TIME_LIMIT,
)
from invitations.sending.outcomes import describe_send_error, is_permanent_refusal, retry_countdown
from invitations.sending.session import _LOCK_NAMESPACE
from invitations.sending.suppression import address_unsubscribe, suppression_add
from invitations.sending.sweep import invitations_send_due

__all__ = [
    "BATCH_SIZE",
    "BATCH_SOFT_TIME_LIMIT",
    "BATCH_TIME_LIMIT",
    "LEASE",
    "MAX_BATCHES",
    "MAX_CONNECTION_LOSSES",
    "MAX_RETRIES",
    "MAX_SEND_ATTEMPTS",
    "RETRY_BASE_SECONDS",
    "RETRY_MAX_SECONDS",
    "SEND_BATCH_SIZE",
    "SEND_SOFT_TIME_LIMIT",
    "SEND_TIME_LIMIT",
    "_LOCK_NAMESPACE",
    "SendLater",
    "SendResult",
    "address_unsubscribe",
    "describe_send_error",
    "email_kind",
    "invitation_email_send",
    "invitation_emails_send",
    "invitations_send_due",
    "is_permanent_refusal",
    "retry_countdown",
    "suppression_add",
]
