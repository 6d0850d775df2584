"""Invitation emails through the live stack: the sweep in this process, a real Celery worker,
Redis, Postgres and an SMTP sink (TESTPLAN L2: ID-4, FA-1, FA-3, IN-6, R6, R7, R41, R43).

Emails are counted by Message-ID in the sink, so "exactly once" means one message per id; the
sink also notes each command's client connection, so a batch's single connection is counted.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.utils import timezone

from companies.models import Shop
from invitations.emails import message_id_for
from invitations.models import Invitation, InvitationEmail, Suppression
from invitations.sending import invitations_send_due
from invitations.tasks import send_invitation_email, send_invitation_emails
from tests import factories
from tests.live.broker import publishing_to
from tests.live.sink import CountingSink

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def smtp_sink():
    """The module's sink (and its worker's): the live stack's, counting connections."""
    sink = CountingSink().start()
    yield sink
    sink.stop()


def invitation_of(invitation: Invitation) -> Invitation:
    return Invitation.objects.unscoped().get(pk=invitation.pk)


def record_of(invitation: Invitation, kind: str = "invitation") -> InvitationEmail | None:
    return InvitationEmail.objects.unscoped().filter(invitation=invitation, kind=kind).first()


def status_is(invitation: Invitation, status: str):
    return lambda: invitation_of(invitation).status == status


def test_it_delivers_due_invitations_exactly_once_with_their_headers(live, shop, other_shop):
    """R7, R41, ID-4c, IN-6, R43: three due invitations of two companies arrive once each with
    a fixed Message-ID and one-click unsubscribe headers; a CR/LF name or shop name adds no
    recipient; a second sweep sends nothing; the worker's log names no address or link."""
    Shop.objects.unscoped().filter(pk=other_shop.pk).update(name="BETA-B\r\nBcc: shop@evil.test")
    now = timezone.now()
    due = [
        factories.InvitationFactory(shop=shop, email="a1@example.net"),
        factories.InvitationFactory(
            shop=shop, email="a2@example.net", first_name="Kim\r\nBcc: victim@evil.test"
        ),
        factories.InvitationFactory(shop=other_shop, email="b1@example.net"),
    ]
    later = factories.InvitationFactory(shop=shop, due_at=now + datetime.timedelta(hours=1))
    no_consent = factories.InvitationFactory(shop=shop, order__consent=False)

    assert invitations_send_due() == 4
    assert invitations_send_due() == 0  # a beat double-fire claims nothing
    live.wait_until(lambda: all(invitation_of(i).status == "sent" for i in due))
    live.wait_until(status_is(no_consent, "suppressed"))
    live.wait_until_idle()

    received = {m.message_id: m for m in live.sink.messages()}
    assert len(live.sink.messages()) == 3
    assert set(received) == {message_id_for(i, "invitation") for i in due}
    for invitation in due:
        message = received[message_id_for(invitation, "invitation")]
        assert message.rcpt_tos == (invitation.email,)
        headers = message.message
        assert [a.addr_spec for a in headers["To"].addresses] == [invitation.email]
        unsubscribe = str(headers["List-Unsubscribe"]).strip()  # folded: the URL is long
        assert unsubscribe.startswith(f"<{settings.SITE_URL}/u/") and unsubscribe.endswith("/>")
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert headers["Auto-Submitted"] == "auto-generated"
        assert "Bcc" not in headers
    beta = received[message_id_for(due[2], "invitation")].message
    assert (
        beta["From"].addresses[0].display_name == "BETA-B Bcc: shop@evil.test via Review platform"
    )
    assert invitation_of(later).status == "scheduled"
    assert invitation_of(no_consent).suppression_reason == "no_consent"
    log = live.worker.output()
    assert "succeeded" in log
    for secret in ("a1@example.net", "a2@example.net", "b1@example.net", "/r/", "Kim"):
        assert secret not in log


def test_it_sends_a_batch_over_one_smtp_connection(live, shop, other_shop):
    """ID-4, R7: five due invitations of two companies: one batch task in the worker, one SMTP
    connection, each email exactly once."""
    invitations = [factories.InvitationFactory(shop=s) for s in (shop, other_shop) * 2 + (shop,)]
    mark = len(live.worker.lines)
    assert invitations_send_due() == 5

    live.wait_until(lambda: all(invitation_of(i).status == "sent" for i in invitations))
    live.wait_until_idle()
    assert live.sink.count_by_message_id() == {
        message_id_for(i, "invitation"): 1 for i in invitations
    }
    assert live.sink.connections() == 1
    batches = re.findall(
        r"send_invitation_emails\[\S+\] succeeded in \S+ (.+)", live.worker.output(since=mark)
    )
    assert batches == ["{'sent': 5}"]


def test_it_retries_a_451_and_delivers_one_email(live, shop):
    """ID-4a: the sink answers 451 once; the batch releases the email and queues a task of its
    own with backoff, which sends it: exactly one email arrives, with the Message-ID of the
    refused try; attempts=2."""
    live.sink.answer_data("451 4.7.1 Greylisted, try again later")
    invitation = factories.InvitationFactory(shop=shop)
    mark = len(live.worker.lines)
    assert invitations_send_due() == 1

    live.wait_until(status_is(invitation, "sent"))
    live.wait_until_idle()
    assert len(live.sink.refused) == 1
    assert [m.message_id for m in live.sink.messages()] == [live.sink.refused[0].message_id]
    record = record_of(invitation)
    assert (record.status, record.attempts) == ("sent", 2)
    log = live.worker.output(since=mark)
    assert re.search(r"send_invitation_emails\[\S+\] succeeded in \S+ \{'retry': 1\}", log)
    assert re.search(r"send_invitation_email\[\S+\] succeeded in \S+ 'sent'", log)


def test_it_bounces_a_550_without_retrying(live, shop, other_shop):
    """ID-4b, R6: a 550 for the recipient ends it: send record bounced, invitation failed (the
    company sees it), the address suppressed for this shop only, and no retry."""
    live.sink.refuse_recipients("550 5.1.1 User unknown")
    invitation = factories.InvitationFactory(shop=shop, email="gone@example.net")
    assert invitations_send_due() == 1

    live.wait_until(status_is(invitation, "failed"))
    live.wait_until_idle()
    assert live.sink.rcpt_refusals == 1 and live.sink.messages() == []
    record = record_of(invitation)
    assert (record.status, record.attempts) == ("bounced", 1)
    assert Suppression.objects.for_company(shop.company).get().reason == "bounced"
    assert not Suppression.objects.for_company(other_shop.company).exists()


def test_it_sends_one_email_for_a_task_queued_twice(live, shop):
    """ID-4c: the sweep's batch task, the same batch again and a one-email task for the same
    invitation: one run sends, the others are no-ops."""
    invitation = factories.InvitationFactory(shop=shop)
    mark = len(live.worker.lines)
    assert invitations_send_due() == 1
    send_invitation_emails.delay([invitation.pk])
    send_invitation_email.delay(invitation.pk)

    finished = re.compile(r"send_invitation_emails?\[\S+\] succeeded in \S+ (.+)")
    live.wait_until(lambda: len(finished.findall(live.worker.output(since=mark))) == 3)
    live.wait_until_idle()
    assert sorted(finished.findall(live.worker.output(since=mark))) == [
        "'not claimed'",
        "{'not claimed': 1}",
        "{'sent': 1}",
    ]
    assert [m.message_id for m in live.sink.messages()] == [
        message_id_for(invitation, "invitation")
    ]
    assert record_of(invitation).attempts == 1


def test_it_redelivers_after_the_worker_child_is_killed_mid_send(live, shop):
    """FA-1 (ii): the pool child is SIGKILLed after the sink accepted DATA, before the database
    stamp. acks_late + reject_on_worker_lost redeliver the task; the new run takes over the dead
    run's claim at once: final state sent, at most two emails, one Message-ID, attempts=2."""
    live.sink.after_next_accept(live.worker.kill_pool_child)
    invitation = factories.InvitationFactory(shop=shop)
    mark = len(live.worker.lines)
    assert invitations_send_due() == 1

    live.wait_until(status_is(invitation, "sent"), timeout=20)
    live.wait_until_idle()
    message_ids = [m.message_id for m in live.sink.messages()]
    assert 1 <= len(message_ids) <= 2
    assert set(message_ids) == {message_id_for(invitation, "invitation")}
    record = record_of(invitation)
    assert (record.status, record.attempts) == ("sent", 2)
    assert "WorkerLostError" in live.worker.output(since=mark)


def test_it_sends_the_rest_of_a_batch_once_after_its_worker_child_is_killed(live, shop):
    """FA-1 (ii) in a batch: the pool child is SIGKILLed after the sink accepted the second of
    four emails. The redelivered batch finishes the first email's invitation without resending
    it and hands each email the dead run had claimed to a task of its own: only the second may
    arrive twice, with one Message-ID; every invitation ends sent."""
    invitations = [
        factories.InvitationFactory(
            shop=shop, due_at=timezone.now() - datetime.timedelta(minutes=m)
        )
        for m in (4, 3, 2, 1)
    ]
    ids = [message_id_for(i, "invitation") for i in invitations]
    live.sink.after_next_accept(lambda: live.sink.after_next_accept(live.worker.kill_pool_child))
    mark = len(live.worker.lines)
    assert invitations_send_due() == 4

    live.wait_until(lambda: all(invitation_of(i).status == "sent" for i in invitations), timeout=30)
    live.wait_until_idle()
    counts = live.sink.count_by_message_id()
    assert set(counts) == set(ids)
    assert counts[ids[0]] == counts[ids[2]] == counts[ids[3]] == 1
    assert 1 <= counts[ids[1]] <= 2
    assert "WorkerLostError" in live.worker.output(since=mark)


def test_it_sends_what_was_claimed_while_redis_was_down(live, shop, unused_tcp_port):
    """FA-3: orders committed while the broker is unreachable keep their claim; once Redis is
    back the next sweep queues them and each email arrives exactly once."""
    invitations = [factories.InvitationFactory(shop=shop) for _ in range(3)]
    with publishing_to(f"redis://127.0.0.1:{unused_tcp_port}/0"):
        started = timezone.now()
        assert invitations_send_due() == 0
        assert (timezone.now() - started).total_seconds() < 5
    assert {(i.status, i.claimed_at) for i in map(invitation_of, invitations)} == {
        ("sending", None)
    }

    assert invitations_send_due() == 3
    live.wait_until(lambda: all(invitation_of(i).status == "sent" for i in invitations))
    live.wait_until_idle()
    assert sorted(live.sink.count_by_message_id().values()) == [1, 1, 1]
