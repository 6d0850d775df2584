"""Invitation emails in batches: one send task per batch of claimed invitations, one SMTP
connection per batch, and per email the same guarantees as one email at a time.

TESTPLAN ID-4 (retries, bounces, duplicates), FA-1/FA-2 (a dead run's claims), FA-3 (the broker
down while retries are queued), FA-6 (a hung SMTP server), R6 (suppression), R7 (reminders),
R43 (logs). The sink (``CountingSink``, tests/live/sink.py) is a real SMTP server that also notes
the client connection of every recipient, so "one connection" is counted, not assumed.
"""

from __future__ import annotations

import base64
import datetime
import inspect
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ekomi.celery import app as celery_app
from invitations import emails, sending
from invitations.emails import message_id_for
from invitations.models import Invitation, InvitationEmail, Suppression, email_digest
from invitations.sending import invitations_send_due, sweep
from invitations.tasks import send_invitation_email, send_invitation_emails
from privacy.selectors import retention_days_for
from privacy.services import retention_settings_save
from tests import factories
from tests.live.broker import publishing_to
from tests.live.sink import send_to

pytestmark = pytest.mark.django_db

OWNER_KEY = "ekomi:live-stack:owner"  # the marker tests/live and bench use to claim a database


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """An empty Redis database of this test's own, published to instead of running tasks: what
    a batch queues can be read back. Claimed with the live stack's NX marker."""
    base = django_settings.REDIS_URL.rsplit("/", 1)[0]
    token = uuid.uuid4().hex
    for number in range(15, 1, -1):
        client = redis.Redis.from_url(f"{base}/{number}", socket_timeout=2)
        if client.dbsize() == 0 and client.set(OWNER_KEY, token, nx=True, ex=300):
            break
    else:
        pytest.fail("no empty Redis database (2-15) for the test's broker")
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with publishing_to(f"{base}/{number}"):
            yield client
    finally:
        celery_app.conf.task_always_eager = eager
        if client.get(OWNER_KEY) == token.encode():
            client.flushdb()


def queued(client: redis.Redis) -> list[tuple[str, list, str | None]]:
    """(task name, arguments, eta) of every message waiting in the default queue."""
    out = []
    for raw in reversed(client.lrange("default", 0, -1)):  # LPUSH: oldest last
        message = json.loads(raw)
        args = json.loads(base64.b64decode(message["body"]))[0]
        out.append((message["headers"]["task"], args, message["headers"].get("eta")))
    return out


def reload(invitation: Invitation) -> Invitation:
    return Invitation.objects.unscoped().get(pk=invitation.pk)


def record(invitation: Invitation, kind: str = "invitation") -> InvitationEmail:
    return InvitationEmail.objects.unscoped().get(invitation=invitation, kind=kind)


def due(shop, minutes_ago: int, **fields) -> Invitation:
    """A due invitation; the sweep takes them oldest first, so this sets the batch's order."""
    return factories.InvitationFactory(
        shop=shop, due_at=timezone.now() - datetime.timedelta(minutes=minutes_ago), **fields
    )


def claimed(shop, **fields) -> Invitation:
    fields.setdefault("status", "sending")
    fields.setdefault("claimed_at", timezone.now())
    return factories.InvitationFactory(shop=shop, **fields)


def send_batch(*invitations: Invitation) -> dict[str, int]:
    """The batch task, run in this process."""
    return send_invitation_emails.apply(args=[[i.pk for i in invitations]]).get()


# --- One connection per batch ------------------------------------------------------------------


def test_it_sends_a_batch_of_two_companies_over_one_smtp_connection(
    shop, other_shop, sink, eager_tasks, django_capture_on_commit_callbacks
):
    """ID-4, R7: the sweep queues one task for the due invitations of both companies and one for
    the due reminders, each sending over one SMTP connection; every email arrives once with its
    own Message-ID and its invitation is stamped (next reminder set, reminder counted)."""
    now = timezone.now()
    first = [due(shop, 5), due(shop, 4), due(other_shop, 3)]
    reminder = factories.InvitationFactory(
        shop=other_shop, status="sent", sent_at=now - datetime.timedelta(days=7),
        next_reminder_at=now - datetime.timedelta(minutes=1),
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        assert invitations_send_due() == 4

    ids = sorted(m.message_id for m in sink.messages())
    expected = [message_id_for(i, "invitation") for i in first]
    assert ids == sorted([*expected, message_id_for(reminder, "reminder_1")])
    assert sink.connections() == 2  # one batch of first emails, one of reminders
    for invitation in first:
        row = reload(invitation)
        assert (row.status, row.reminders_sent) == ("sent", 0)
        assert row.next_reminder_at == row.sent_at + datetime.timedelta(days=7)
        assert (record(row).status, record(row).attempts) == ("sent", 1)
    row = reload(reminder)
    assert (row.status, row.reminders_sent, row.next_reminder_at) == ("sent", 1, None)
    assert record(row, "reminder_1").status == "sent"


def test_it_queues_one_task_and_opens_one_connection_per_batch(
    shop, sink, eager_tasks, monkeypatch, django_capture_on_commit_callbacks
):
    """ID-4: the sweep splits what it claimed into tasks of SEND_BATCH_SIZE ids."""
    monkeypatch.setattr(sweep, "SEND_BATCH_SIZE", 2)  # read where the sweep queues
    invitations = [due(shop, 10 - n) for n in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        assert invitations_send_due() == 5
    assert len(sink.messages()) == 5 and sink.connections() == 3
    assert {reload(i).status for i in invitations} == {"sent"}


def test_it_costs_one_statement_per_email(shop, sink):
    """ID-4 (cost): the batch's reads, claims and stamps are set-based; each further email adds
    only its own send record's stamp (committed before the next email goes out)."""

    def statements(n: int) -> int:
        batch = [claimed(shop) for _ in range(n)]
        with CaptureQueriesContext(connection) as queries:
            assert sending.invitation_emails_send(invitation_ids=[i.pk for i in batch]) == {
                "sent": n
            }
        return len(queries.captured_queries)

    two, six = statements(2), statements(6)
    assert six - two == 4
    # Per batch: the advisory locks; the invitations with shop and order; in one transaction
    # (here savepoints) the records' insert, claim and read and the invitations' claim; the
    # suppressions; the shops' overrides; the companies' retention; synchronous_commit off and
    # reset; the invitations' stamp in a transaction; the unlock. Per email: its record's stamp.
    assert two == 13 + 4 + 2


def test_it_states_each_companys_retention_period_in_a_batch(
    company, other_company, shop, other_shop, sink, settings
):
    """R11: in a batch of two companies' invitations each email states its own company's
    retention period (set on the Data page, else the platform default), as the same email
    rendered on its own does."""
    settings.PERSONAL_DATA_RETENTION_DAYS = 21
    retention_settings_save(company=company, days=9)
    ours, theirs = claimed(shop), claimed(other_shop)
    assert retention_days_for(company_ids=[company.pk, other_company.pk]) == {
        company.pk: 9,
        other_company.pk: 21,
    }

    assert send_batch(ours, theirs) == {"sent": 2}
    texts = {m.rcpt_tos: m.message.get_body(("plain",)).get_content() for m in sink.messages()}
    for invitation, days in ((ours, 9), (theirs, 21)):
        stated = f"no later than {days} days after the link expires"
        assert stated in texts[(invitation.email,)]
        assert stated in emails.invitation_message(invitation, kind="invitation").body


# --- Failures in the middle of a batch ---------------------------------------------------------


def test_it_retries_a_transient_failure_in_the_middle_of_a_batch_alone(shop, sink, broker):
    """ID-4a: the second of three emails gets a 451: its record is released ("retry") and a
    task of its own is queued with backoff; the third goes out on the batch's connection
    meanwhile. The retry then delivers it once, with the refused try's Message-ID, attempts=2."""
    batch = [claimed(shop) for _ in range(3)]
    ids = [message_id_for(i, "invitation") for i in batch]
    sink.after_next_accept(lambda: sink.answer_data("451 4.3.0 Try again later"))
    started = timezone.now()
    assert send_batch(*batch) == {"sent": 2, "retry": 1}

    assert [m.message_id for m in sink.messages()] == [ids[0], ids[2]]
    assert [m.message_id for m in sink.refused] == [ids[1]] and sink.connections() == 1
    assert [(record(i).status, record(i).attempts) for i in batch] == [
        ("sent", 1),
        ("retry", 1),
        ("sent", 1),
    ]
    ((name, args, eta),) = queued(broker)
    assert (name, args) == ("invitations.send_invitation_email", [batch[1].pk])
    wait = (datetime.datetime.fromisoformat(eta) - started).total_seconds()
    assert sending.RETRY_BASE_SECONDS / 2 <= wait <= sending.RETRY_BASE_SECONDS + 5

    send_invitation_email.apply(args=args)  # the queued retry, once its time has come
    assert [m.message_id for m in sink.messages()] == [ids[0], ids[2], ids[1]]
    assert (record(batch[1]).status, record(batch[1]).attempts) == ("sent", 2)
    assert {reload(i).status for i in batch} == {"sent"}


def test_it_bounces_one_address_in_the_middle_of_a_batch_and_sends_the_rest(
    shop, other_shop, sink, caplog
):
    """ID-4b, R6, R43: a 550 for one recipient bounces and suppresses just that address for this
    shop; the batch goes on over the same connection; a later email of the batch to the same
    address is not attempted; the log names invitations, not addresses."""
    sink.refuse_address("gone@example.org", "550 5.1.1 <gone@example.org>: no such user")
    before = claimed(shop, email="kim@example.org")
    bouncing = claimed(shop, email="gone@example.org")
    after = claimed(other_shop, email="lee@example.org")
    again = claimed(shop, email="GONE@example.org")
    with caplog.at_level(logging.INFO, logger="invitations"):
        summary = send_batch(before, bouncing, after, again)

    assert summary == {"sent": 2, "bounced": 1, "not sent: bounced": 1}
    assert [m.rcpt_tos for m in sink.messages()] == [("kim@example.org",), ("lee@example.org",)]
    assert sink.rcpt_refusals == 1 and sink.connections() == 1
    assert (record(bouncing).status, reload(bouncing).status) == ("bounced", "failed")
    assert (reload(again).status, reload(again).suppression_reason) == ("suppressed", "bounced")
    suppressed = Suppression.objects.for_company(shop.company).get()
    assert (suppressed.email_digest, suppressed.reason) == (
        email_digest("gone@example.org"),
        "bounced",
    )
    assert not Suppression.objects.for_company(other_shop.company).exists()
    assert str(bouncing.public_id) in caplog.text and "gone@example.org" not in caplog.text


def test_it_stops_a_batch_whose_mail_server_hangs_and_releases_the_rest(
    shop, sink, broker, settings
):
    """FA-6: the server stops answering after the first email. Each send gives up within
    EMAIL_TIMEOUT; after a reconnect times out too, the batch stops: the emails tried wait for
    a retry with attempts counted, the untried ones with their claim undone, each queued alone
    with backoff."""
    settings.EMAIL_TIMEOUT = 1
    sink.after_next_accept(sink.stall_data)
    batch = [claimed(shop) for _ in range(4)]
    assert send_batch(*batch) == {"sent": 1, "retry": 3}

    assert len(sink.messages()) == 1 and reload(batch[0]).status == "sent"
    assert [(record(i).status, record(i).attempts) for i in batch[1:]] == [
        ("retry", 1),
        ("retry", 1),
        ("retry", 0),
    ]
    assert [reload(i).status for i in batch[1:]] == ["sending"] * 3
    assert sink.connections() == 2  # the batch's, then one reconnect
    retries = queued(broker)
    assert [(name, args) for name, args, _ in retries] == [
        ("invitations.send_invitation_email", [i.pk]) for i in batch[1:]
    ]
    assert all(eta and datetime.datetime.fromisoformat(eta) > timezone.now() for *_, eta in retries)


def test_it_stops_at_once_when_the_mail_server_refuses_connections(
    shop, settings, unused_tcp_port, broker
):
    """FA-6: nobody listens: one connection attempt, then every email of the batch waits for a
    retry of its own; only the one tried counts an attempt."""
    send_to(settings, unused_tcp_port)
    batch = [claimed(shop) for _ in range(3)]
    assert send_batch(*batch) == {"retry": 3}
    assert [record(i).attempts for i in batch] == [1, 0, 0]
    assert [reload(i).send_attempts for i in batch] == [1, 0, 0]
    assert {record(i).status for i in batch} == {"retry"}
    assert [args for _, args, _ in queued(broker)] == [[i.pk] for i in batch]


def test_it_leaves_retries_to_the_next_sweep_while_the_broker_is_down(
    shop, sink, unused_tcp_port, eager_tasks, django_capture_on_commit_callbacks
):
    """FA-3: a retry that cannot be queued keeps its claim without a claim time, so the next
    sweep takes it up; it is then sent exactly once."""
    invitation = claimed(shop)
    sink.answer_data("451 4.3.0 Try again later")
    celery_app.conf.task_always_eager = False
    with publishing_to(f"redis://127.0.0.1:{unused_tcp_port}/0"):
        assert send_batch(invitation) == {"retry": 1}
    celery_app.conf.task_always_eager = True
    assert (reload(invitation).status, reload(invitation).claimed_at) == ("sending", None)

    with django_capture_on_commit_callbacks(execute=True):
        assert invitations_send_due() == 1
    assert [m.message_id for m in sink.messages()] == [message_id_for(invitation, "invitation")]
    assert (reload(invitation).status, record(invitation).attempts) == ("sent", 2)


# --- Running twice, and after a crash ----------------------------------------------------------


def test_it_sends_nothing_twice_when_a_batch_task_runs_twice(shop, other_shop, sink):
    """ID-4c: the same batch delivered twice: the second run claims nothing and sends nothing."""
    batch = [claimed(shop), claimed(other_shop), claimed(shop)]
    assert send_batch(*batch) == {"sent": 3}
    assert send_batch(*batch) == {"not claimed": 3}
    assert sorted(sink.count_by_message_id().values()) == [1, 1, 1]
    assert [record(i).attempts for i in batch] == [1, 1, 1]


def test_it_finishes_without_resending_what_a_crashed_batch_sent(shop, sink):
    """FA-1: a batch died after an email's record said "sent" but before its invitation was
    stamped: the next run stamps it and does not send it again."""
    sent, unsent = claimed(shop), claimed(shop)
    InvitationEmail.objects.unscoped().create(
        company=shop.company, shop=shop, invitation=sent, kind="invitation", status="sent",
        sent_at=timezone.now(), attempts=1, message_id=message_id_for(sent, "invitation"),
    )  # fmt: skip
    assert send_batch(sent, unsent) == {"already sent": 1, "sent": 1}
    assert [m.message_id for m in sink.messages()] == [message_id_for(unsent, "invitation")]
    assert (reload(sent).status, reload(unsent).status) == ("sent", "sent")


def test_it_hands_the_emails_a_dead_run_claimed_to_a_task_each(shop, sink, eager_tasks):
    """FA-1, FA-2: records a killed run left "sending" (its locks died with it) are not sent in
    the new batch but by one task each, which takes the claim over and counts the attempt; so an
    email that kills its worker is given up alone, never the batch. Same Message-IDs."""
    dead = [claimed(shop), claimed(shop)]
    fresh = claimed(shop)
    for invitation in dead:
        InvitationEmail.objects.unscoped().create(
            company=shop.company, shop=shop, invitation=invitation, kind="invitation",
            status="sending", claimed_at=timezone.now(), attempts=1,
            message_id=message_id_for(invitation, "invitation"),
        )  # fmt: skip
    assert send_batch(*dead, fresh) == {"alone": 2, "sent": 1}
    assert sorted(m.message_id for m in sink.messages()) == sorted(
        message_id_for(i, "invitation") for i in [*dead, fresh]
    )
    assert [(record(i).status, record(i).attempts) for i in dead] == [("sent", 2)] * 2
    assert record(fresh).attempts == 1


def test_it_gives_up_an_email_alone_after_max_attempts_in_a_batch(shop, sink):
    """FA-1: an email whose record already counts every allowed attempt fails without another
    try; the rest of the batch is sent."""
    worn, fine = claimed(shop), claimed(shop)
    InvitationEmail.objects.unscoped().create(
        company=shop.company, shop=shop, invitation=worn, kind="invitation", status="retry",
        attempts=sending.MAX_SEND_ATTEMPTS, message_id=message_id_for(worn, "invitation"),
    )  # fmt: skip
    assert send_batch(worn, fine) == {"failed": 1, "sent": 1}
    assert [m.message_id for m in sink.messages()] == [message_id_for(fine, "invitation")]
    assert reload(worn).status == "failed"


# --- The task ----------------------------------------------------------------------------------


def test_it_passes_only_ids_to_the_batch_task():
    """TESTPLAN §6: the batch task takes a list of ids, never personal data."""
    assert list(inspect.signature(send_invitation_emails.run).parameters) == ["invitation_ids"]


def test_it_preloads_email_rendering_without_touching_the_database(django_assert_num_queries):
    """The worker preloads templates, translations and URL patterns before it forks its pool:
    a database connection opened there would be shared by every forked process."""
    with django_assert_num_queries(0):
        emails.rendering_preload()


def test_it_bounds_the_batch_task_in_time(settings):
    """FA-6: two lost connections fit in the soft limit, where a batch stops cleanly; the lease
    outlives the hard limit and the longest retry wait, so the sweep never re-queues an email
    that is being sent or waits for its retry."""
    task = send_invitation_emails
    assert task.soft_time_limit > settings.EMAIL_TIMEOUT * sending.MAX_CONNECTION_LOSSES
    assert task.soft_time_limit < task.time_limit
    assert task.time_limit + sending.RETRY_MAX_SECONDS < sending.LEASE.total_seconds()
    assert task.max_retries == sending.MAX_RETRIES
