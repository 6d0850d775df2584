"""The outbox sweep (R7, R8, TESTPLAN FA-3, FA-4): claim due invitations, due reminders and lost
claims with a conditional UPDATE and, once a claim is committed, queue its send tasks."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from functools import partial

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from invitations.models import Invitation
from invitations.sending.limits import BATCH_SIZE, LEASE, MAX_BATCHES, SEND_BATCH_SIZE

logger = logging.getLogger(__name__)

Status = Invitation.Status


def invitations_send_due(*, now: datetime.datetime | None = None) -> int:
    """Claim every due invitation and reminder and queue its send; returns how many.

    Three kinds of work: first emails that are due, reminders that are due while the link is
    unrated and valid (R7), and claims whose task was lost (a broker outage, a killed worker).
    """
    sweep = _Sweep(now=now or timezone.now())
    for due, in_index_order in (
        (_due_invitations, True),
        (_due_reminders, True),
        (_stale_claims, False),  # the few rows being sent: no index walks them in claim order
    ):
        sweep.drain(due(sweep.now), in_index_order=in_index_order)
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


# Each batch takes the oldest due rows: walking the partial index in its order and stopping after
# the batch is the right plan at any size. Right after an import burst the statistics still say
# "a few due rows", and Postgres then reads and sorts every due row for every batch (EXPLAIN, 4,000
# due: 76 ms per batch of 200, against 1.2 ms), which makes a sweep quadratic in what is due. The
# penalty a disabled sort carries in the planner's costs would set off JIT compilation (200 ms for
# a query that runs in 14), so that goes too.
_ORDERED_SCAN_SQL = (  # SET LOCAL, as one statement that can be prepared
    "SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true), "
    "set_config('jit', 'off', true)"
)


def _ordered_scan_plan() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_ORDERED_SCAN_SQL)


@dataclass
class _Sweep:
    now: datetime.datetime
    claimed: int = 0
    unqueued: int = 0
    broker_down: bool = False

    def drain(self, due: QuerySet, *, in_index_order: bool) -> None:
        for _ in range(MAX_BATCHES):
            if self.broker_down or self._claim_batch(due, in_index_order) < BATCH_SIZE:
                return

    def _claim_batch(self, due: QuerySet, in_index_order: bool) -> int:
        with transaction.atomic():
            if in_index_order:
                _ordered_scan_plan()
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
