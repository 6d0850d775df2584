"""The invitation email pipeline in-process: sweep, send task, templates and headers.

R6 (no email without consent, after unsubscribe or hard bounce), R7 (delay and reminders),
R41 (unsubscribe link), R43 (no addresses in logs), TESTPLAN ID-4, FA-1, FA-3, FA-4, FA-6, IN-4,
IN-6. Emails go to Django's locmem outbox, or to a real SMTP sink where the test is about SMTP.
"""

from __future__ import annotations

import datetime
import inspect
import logging
import re
import socket
import threading
import time
from email import message_from_bytes, policy

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.formats import date_format

from companies.models import Shop
from ekomi.celery import app as celery_app
from invitations import emails, sending
from invitations.ingest import OrderInput, orders_ingest
from invitations.models import EmailTemplate, Invitation, InvitationEmail, Suppression, email_digest
from invitations.sending import invitations_send_due
from invitations.tasks import send_invitation_email
from tests import factories
from tests.live.broker import publishing_to
from tests.live.sink import SmtpSink, send_to

pytestmark = pytest.mark.django_db

NOW = timezone.now


def reload(invitation: Invitation) -> Invitation:
    return Invitation.objects.unscoped().get(pk=invitation.pk)


def records(invitation: Invitation) -> list[InvitationEmail]:
    return list(InvitationEmail.objects.unscoped().filter(invitation=invitation).order_by("pk"))


def claimed(shop, **fields) -> Invitation:
    """An invitation the sweep has just claimed."""
    fields.setdefault("status", "sending")
    fields.setdefault("claimed_at", timezone.now())
    return factories.InvitationFactory(shop=shop, **fields)


def send(invitation: Invitation):
    """Run the send task in this process, retries included (countdowns are skipped)."""
    return send_invitation_email.apply(args=[invitation.pk])


def unsubscribes(text: str, invitation: Invitation) -> bool:
    """The text links to the one-click unsubscribe of this invitation's shop and address. The
    token is signed with a timestamp, so one rendered a second later differs: it is read back
    rather than compared with another rendering's."""
    found = re.findall(rf"{re.escape(settings.SITE_URL)}/u/([^/\s\"]+)/", text)
    expected = (invitation.shop_id, email_digest(invitation.email))
    return bool(found) and all(emails.unsubscribe_token_read(t) == expected for t in found)


@pytest.fixture
def eager():
    """``.delay()`` runs the task at once, in this process and transaction."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(params=[True, False], ids=["pipelining", "one-command-at-a-time"])
def smtp_sink(settings, request):
    """A real SMTP server on 127.0.0.1 instead of the locmem outbox; once offering PIPELINING
    (RFC 2920) as production relays do, once not."""
    sink = SmtpSink().start()
    sink.handler.offer_pipelining(request.param)
    send_to(settings, sink.port)
    yield sink.handler
    sink.stop()


# --- The sweep ---------------------------------------------------------------------------------


def test_it_claims_due_invitations_of_every_shop_once(
    shop, other_shop, django_capture_on_commit_callbacks
):
    """R7, ID-4c: due ones (both tenants) are claimed; a second sweep (beat double-fire) claims
    nothing; not yet due, expired, suppressed and sent ones are left alone."""
    now = timezone.now()
    due = factories.InvitationFactory(shop=shop, due_at=now - datetime.timedelta(minutes=1))
    other_due = factories.InvitationFactory(shop=other_shop, due_at=now)
    later = factories.InvitationFactory(shop=shop, due_at=now + datetime.timedelta(hours=1))
    expired = factories.InvitationFactory(
        shop=shop, due_at=now, created_at=now - datetime.timedelta(days=200)
    )
    suppressed = factories.InvitationFactory(
        shop=shop, due_at=now, status="suppressed", suppression_reason="no_consent"
    )
    sent = factories.InvitationFactory(shop=shop, due_at=now, status="sent", sent_at=now)

    with django_capture_on_commit_callbacks() as callbacks:
        assert invitations_send_due(now=now) == 2
    assert len(callbacks) == 1  # one batch, queued only once the claim commits
    assert invitations_send_due(now=now) == 0

    statuses = {i: reload(i).status for i in (due, other_due, later, expired, suppressed, sent)}
    assert statuses == {
        due: "sending",
        other_due: "sending",
        later: "scheduled",
        expired: "scheduled",
        suppressed: "suppressed",
        sent: "sent",
    }
    assert reload(due).claimed_at == now


def test_it_takes_each_batch_from_the_due_index_in_order_without_sorting_every_due_row(
    shop, django_capture_on_commit_callbacks
):
    """R7, issue 12 (indexes chosen from EXPLAIN): the sweep walks the partial due index in due
    order and stops after a batch. Right after an import burst the statistics say "a few due
    rows", and Postgres then sorts every due row for every batch, which makes a sweep of n due
    invitations cost n²; the sweep sets its plan so that this cannot happen."""
    now = timezone.now()
    factories.InvitationFactory.create_batch(3, shop=shop, due_at=now - datetime.timedelta(hours=1))
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks():
        assert invitations_send_due(now=now) == 3
    statements = [query["sql"] for query in queries]
    claim = next(i for i, sql in enumerate(statements) if "SKIP LOCKED" in sql)
    assert "'enable_sort', 'off', true" in statements[claim - 1]  # in the claim's transaction

    due = sending.sweep._due_invitations(now).select_for_update(skip_locked=True, of=("self",))
    with transaction.atomic():
        sending.sweep._ordered_scan_plan()
        plan = due.values_list("pk", flat=True)[: sending.BATCH_SIZE].explain()
    assert "Index Scan using invitation_due_scheduled" in plan
    assert "Sort" not in plan and "Bitmap" not in plan


def test_it_sends_each_shop_its_own_template(
    shop, other_shop, eager, django_capture_on_commit_callbacks
):
    """R7, another company: one sweep over two tenants never mixes their templates."""
    for each, words in ((shop, "ACME-A"), (other_shop, "BETA-B")):
        emails.email_template_save(
            shop=each,
            kind="invitation",
            locale="en",
            subject=f"{words} asks: how was order {{{{ order_id }}}}?",
            body=f"{words} thanks you.\n{{{{ rating_link }}}}",
        )
    mine = factories.InvitationFactory(shop=shop)
    theirs = factories.InvitationFactory(shop=other_shop)

    with django_capture_on_commit_callbacks(execute=True):
        assert invitations_send_due() == 2

    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert by_recipient[mine.email].subject == f"ACME-A asks: how was order {mine.order.order_id}?"
    assert by_recipient[theirs.email].subject.startswith("BETA-B asks")
    assert "ACME-A" not in by_recipient[theirs.email].body
    for invitation in (mine, theirs):
        row = reload(invitation)
        assert row.status == "sent" and row.reminders_sent == 0
        assert row.next_reminder_at == row.sent_at + datetime.timedelta(days=7)
        assert [(r.kind, r.status, r.attempts) for r in records(row)] == [("invitation", "sent", 1)]


def test_it_sends_one_reminder_seven_days_later_by_default(
    shop, eager, django_capture_on_commit_callbacks
):
    """R7: default 1 reminder after 7 days, a fixed Message-ID of its own, then nothing more."""
    invitation = factories.InvitationFactory(shop=shop)
    with django_capture_on_commit_callbacks(execute=True):
        invitations_send_due()
    sent_at = reload(invitation).sent_at

    for days, claimed_count in ((6.99, 0), (7.01, 1), (30, 0)):
        with django_capture_on_commit_callbacks(execute=True):
            later = sent_at + datetime.timedelta(days=days)
            assert invitations_send_due(now=later) == claimed_count, days

    assert [m.subject.split(":")[0] for m in mail.outbox] == [
        "How was your order at ACME-A Shop?",
        "Reminder",
    ]
    ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert ids[0] != ids[1] and ids[1].startswith(f"<invitation-{invitation.public_id}-reminder_1@")
    row = reload(invitation)
    assert (row.status, row.reminders_sent, row.next_reminder_at) == ("sent", 1, None)
    assert row.sent_at == sent_at


@pytest.mark.parametrize("end", ["rated", "expired", "reminders off"])
def test_it_sends_no_reminder_after_rating_or_expiry(shop, end, eager):
    """R7: reminders only while unrated and unexpired, and only as many as the shop wants."""
    now = timezone.now()
    fields = {"status": "sent", "sent_at": now, "next_reminder_at": now}
    if end == "rated":
        fields.update(status="rated", used_at=now)
    elif end == "expired":
        fields.update(created_at=now - datetime.timedelta(days=190))
    else:
        Shop.objects.unscoped().filter(pk=shop.pk).update(reminder_count=0)
    invitation = factories.InvitationFactory(shop=shop, **fields)

    assert invitations_send_due(now=now + datetime.timedelta(minutes=1)) == 0
    assert reload(invitation).status == fields["status"]


def test_it_requeues_a_claim_whose_task_was_lost(shop, django_capture_on_commit_callbacks):
    """FA-2 (DB side): a claim older than the lease is queued again; a fresh one is not."""
    now = timezone.now()
    lost = claimed(shop, claimed_at=now - sending.LEASE - datetime.timedelta(seconds=1))
    working = claimed(shop, claimed_at=now - datetime.timedelta(minutes=1))
    with django_capture_on_commit_callbacks():
        assert invitations_send_due(now=now) == 1
    assert reload(lost).claimed_at == now
    assert reload(working).claimed_at == working.claimed_at


def test_it_queues_nothing_when_the_order_transaction_rolls_back(
    shop, django_capture_on_commit_callbacks
):
    """FA-4: an exception after ingest and sweep rolls both back; no task, no email."""
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        orders_ingest(shop=shop, orders=[OrderInput(order_id="ROLLBACK-1", email="a@example.org")])
        Invitation.objects.for_company(shop.company).update(due_at=timezone.now())
        assert invitations_send_due() == 1
        raise RuntimeError("crash after the claim")
    assert callbacks == []
    assert not Invitation.objects.unscoped().exists()
    assert mail.outbox == []


@pytest.fixture(params=["down", "hung"])
def dead_broker_url(request, unused_tcp_port):
    """Redis refusing connections, or accepting them and never answering (SIGSTOP-like)."""
    if request.param == "down":
        yield f"redis://127.0.0.1:{unused_tcp_port}/0"
        return
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)  # the kernel completes the handshake; nobody ever reads or answers
        yield f"redis://127.0.0.1:{hung.getsockname()[1]}/0"


def test_it_leaves_claims_for_the_next_sweep_while_the_broker_is_down(
    shop, dead_broker_url, eager, django_capture_on_commit_callbacks, caplog
):
    """FA-3: with Redis down or hung the sweep gives up within seconds (broker socket
    timeouts), the claim stays (no claim time), the log names no address, and the next sweep
    sends the email exactly once."""
    invitation = factories.InvitationFactory(shop=shop)
    other = factories.InvitationFactory(shop=shop)
    celery_app.conf.task_always_eager = False
    started = time.monotonic()
    with (
        publishing_to(dead_broker_url),
        django_capture_on_commit_callbacks(execute=True),
        caplog.at_level(logging.INFO),
    ):
        invitations_send_due()
    assert time.monotonic() - started < 8  # one failed publish, not one per invitation
    assert reload(other).claimed_at is None
    row = reload(invitation)
    assert (row.status, row.claimed_at) == ("sending", None)
    assert "broker is unavailable" in caplog.text and invitation.email not in caplog.text

    celery_app.conf.task_always_eager = True
    with django_capture_on_commit_callbacks(execute=True):
        assert invitations_send_due() == 2
        assert invitations_send_due() == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted([invitation.email, other.email])
    assert reload(invitation).status == "sent"


# --- The send task -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("no consent", "no_consent"),
        ("unsubscribed", "unsubscribed"),
        ("bounced", "bounced"),
        ("no email", "no_email"),
    ],
)
def test_it_sends_nothing_to_a_suppressed_address(shop, other_shop, setup, reason):
    """R6: consent, unsubscribe and hard bounce are checked again right before SMTP. Only this
    shop's list counts: the same address unsubscribed elsewhere does not block it."""
    invitation = claimed(shop, email="kim@example.org")
    if setup == "no consent":
        type(invitation.order).objects.unscoped().filter(pk=invitation.order_id).update(
            consent=False
        )
    elif setup == "no email":
        Invitation.objects.unscoped().filter(pk=invitation.pk).update(email="")
    else:
        factories_suppression(shop, "KIM@example.org", reason)
    factories_suppression(other_shop, "someone.else@example.org", "unsubscribed")

    send(invitation)

    assert mail.outbox == []
    row = reload(invitation)
    assert (row.status, row.suppression_reason) == ("suppressed", reason)
    assert [(r.status, r.last_error) for r in records(row)] == [("failed", f"not sent: {reason}")]


def test_it_sends_when_only_another_shop_suppressed_the_address(shop, other_shop):
    """R6, another company: suppression lists are per shop."""
    invitation = claimed(shop, email="kim@example.org")
    factories_suppression(other_shop, "kim@example.org", "unsubscribed")
    send(invitation)
    assert [m.to for m in mail.outbox] == [["kim@example.org"]]


def factories_suppression(shop, address: str, reason: str) -> Suppression:
    return Suppression.objects.for_company(shop.company_id).create(
        company=shop.company, shop=shop, email_digest=email_digest(address), reason=reason
    )


def test_it_stops_a_reminder_for_an_unsubscribed_address_but_keeps_the_invitation_sent(shop):
    """R6, R7: the invitation went out, so it stays "sent"; the reminder is not sent."""
    now = timezone.now()
    invitation = claimed(shop, sent_at=now - datetime.timedelta(days=7), next_reminder_at=now)
    factories_suppression(shop, invitation.email, "unsubscribed")
    send(invitation)
    row = reload(invitation)
    assert mail.outbox == []
    assert (row.status, row.next_reminder_at, row.reminders_sent) == ("sent", None, 0)
    assert records(row)[0].kind == "reminder_1"


def test_it_marks_a_link_rated_or_expired_meanwhile(shop):
    """R7, R9: a link used or expired while the email waited is not mailed."""
    now = timezone.now()
    rated = claimed(shop, used_at=now)
    expired = claimed(shop, created_at=now - datetime.timedelta(days=190))
    send(rated)
    send(expired)
    assert mail.outbox == []
    assert (reload(rated).status, reload(expired).status) == ("rated", "expired")


def test_it_sends_a_duplicated_task_once(shop):
    """ID-4c: the same task delivered twice sends one email; the second run is a no-op."""
    invitation = claimed(shop)
    assert send(invitation).get() == "sent"
    assert send(invitation).get() == "not claimed"
    assert len(mail.outbox) == 1
    assert records(invitation)[0].attempts == 1


def test_it_leaves_an_email_to_the_run_that_is_sending_it(shop):
    """ID-4c: while another live run holds the invitation, a duplicate does nothing."""
    invitation = claimed(shop)
    holding, release = threading.Event(), threading.Event()

    def other_run():
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_lock(%s::integer, %s::integer)",
                [sending._LOCK_NAMESPACE, invitation.pk],
            )
            holding.set()
            release.wait(10)
        connections.close_all()

    thread = threading.Thread(target=other_run)
    thread.start()
    try:
        assert holding.wait(10)
        assert send(invitation).get() == "claimed elsewhere"
    finally:
        release.set()
        thread.join()
    assert mail.outbox == []
    assert reload(invitation).status == "sending"


def test_it_finishes_an_invitation_whose_email_went_out_before_a_crash(shop):
    """FA-1: the send record says sent, the invitation was never stamped: stamp, don't resend."""
    invitation = claimed(shop)
    InvitationEmail.objects.unscoped().create(
        company=shop.company,
        shop=shop,
        invitation=invitation,
        kind="invitation",
        status="sent",
        sent_at=timezone.now(),
        attempts=1,
        message_id=emails.message_id_for(invitation, "invitation"),
    )
    assert send(invitation).get() == "already sent"
    assert mail.outbox == []
    assert reload(invitation).status == "sent"


def test_it_takes_over_the_claim_of_a_run_that_died(shop):
    """FA-1: a record left "sending" by a killed worker (its lock died with it) is sent by the
    redelivered task at once, with the same Message-ID, attempts counted."""
    invitation = claimed(shop)
    message_id = emails.message_id_for(invitation, "invitation")
    InvitationEmail.objects.unscoped().create(
        company=shop.company,
        shop=shop,
        invitation=invitation,
        kind="invitation",
        status="sending",
        claimed_at=timezone.now(),
        attempts=1,
        message_id=message_id,
    )
    assert send(invitation).get() == "sent"
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [message_id]
    assert (records(invitation)[0].status, records(invitation)[0].attempts) == ("sent", 2)


def test_it_retries_a_451_once_with_the_same_message_id(shop, smtp_sink):
    """ID-4a: a transient refusal is retried; one email arrives; both tries carry one
    Message-ID; attempts=2."""
    smtp_sink.answer_data("451 4.3.0 Try again later")
    invitation = claimed(shop)
    send(invitation)
    assert len(smtp_sink.delivered) == 1 and len(smtp_sink.refused) == 1
    assert smtp_sink.delivered[0].message_id == smtp_sink.refused[0].message_id
    record = records(invitation)[0]
    assert (record.status, record.attempts) == ("sent", 2)
    assert reload(invitation).status == "sent"


def test_it_records_the_final_failure_after_the_last_retry(shop, smtp_sink):
    """ID-4a: transient failures are retried five times, then the failure is recorded."""
    smtp_sink.answer_data(*["451 4.3.0 Try again later"] * 10)
    invitation = claimed(shop)
    send(invitation)
    assert len(smtp_sink.refused) == sending.MAX_SEND_ATTEMPTS and not smtp_sink.delivered
    record = records(invitation)[0]
    assert (record.status, record.attempts) == ("failed", sending.MAX_SEND_ATTEMPTS)
    row = reload(invitation)
    assert row.status == "failed" and row.last_error.startswith("SMTP 451")
    assert row.send_attempts == sending.MAX_SEND_ATTEMPTS


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_it_bounces_on_550_and_suppresses_the_address(shop, other_shop, smtp_sink, stage):
    """ID-4b, R6: a 5xx is final: no retry, send record bounced, invitation failed, the address
    suppressed for this shop only (the other company's invitation to it still goes out)."""
    if stage == "RCPT":
        smtp_sink.refuse_recipients("550 5.1.1 <kim@example.org>: no such user")
    else:
        smtp_sink.answer_data("550 5.7.1 Message refused")
    invitation = claimed(shop, email="kim@example.org")
    send(invitation)

    assert smtp_sink.rcpt_refusals + len(smtp_sink.refused) == 1 and not smtp_sink.delivered
    record = records(invitation)[0]
    assert (record.status, record.attempts) == ("bounced", 1)
    assert "kim@example.org" not in record.last_error
    assert reload(invitation).status == "failed"
    assert Suppression.objects.for_company(shop.company).get().reason == "bounced"

    smtp_sink.reset()
    elsewhere = claimed(other_shop, email="kim@example.org")
    send(elsewhere)
    assert [m.rcpt_tos for m in smtp_sink.delivered] == [("kim@example.org",)]


def test_it_gives_a_hung_smtp_server_up_within_the_email_timeout(shop, smtp_sink, settings):
    """FA-6: EMAIL_TIMEOUT bounds the SMTP conversation; the claim is released for a retry."""
    settings.EMAIL_TIMEOUT = 1
    smtp_sink.stall_data()
    invitation = claimed(shop)
    started = timezone.now()
    with pytest.raises(sending.SendLater) as later:
        sending.invitation_email_send(invitation_id=invitation.pk)
    assert (timezone.now() - started).total_seconds() < 5
    assert 0 < later.value.countdown <= sending.RETRY_BASE_SECONDS
    assert records(invitation)[0].status == "retry"
    assert reload(invitation).status == "sending"


def test_it_bounds_the_send_task_in_time(settings):
    """FA-6: SMTP timeouts fit in the soft limit, the hard limit follows, and a claim's lease
    outlives both, so the sweep never re-queues an email that is still being sent."""
    task = send_invitation_email
    assert 0 < settings.EMAIL_TIMEOUT < task.soft_time_limit < task.time_limit
    assert task.time_limit < sending.LEASE.total_seconds()
    assert task.max_retries == sending.MAX_RETRIES == 5


def test_it_backs_off_exponentially_with_jitter():
    """ID-4a: each retry waits about twice as long, capped, never the same for everyone."""
    waits = [sending.retry_countdown(attempt) for attempt in range(1, 8)]
    for attempt, wait in enumerate(waits, start=1):
        step = min(sending.RETRY_MAX_SECONDS, sending.RETRY_BASE_SECONDS * 2 ** (attempt - 1))
        assert step / 2 <= wait <= step
    assert max(waits) <= sending.RETRY_MAX_SECONDS < sending.LEASE.total_seconds()


# --- Content and headers -----------------------------------------------------------------------


def test_it_sets_a_fixed_message_id_and_one_click_unsubscribe_headers(shop, client):
    """R41, RFC 8058: List-Unsubscribe(-Post), Auto-Submitted, and a Message-ID that stays the
    same on a resend; the unsubscribe URL carries no address and works."""
    invitation = claimed(shop, email="kim@example.org")
    first = emails.invitation_message(invitation, kind="invitation").message()
    again = emails.invitation_message(invitation, kind="invitation").message()

    assert first["Message-ID"] == again["Message-ID"]
    assert first["Message-ID"] == f"<invitation-{invitation.public_id}-invitation@localhost>"
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first["Auto-Submitted"] == "auto-generated"
    url = re.fullmatch(r"<(.+)>", first["List-Unsubscribe"]).group(1)
    assert url.startswith(f"{settings.SITE_URL}/u/") and "kim" not in url
    body = first.as_string()
    assert url in body  # the link in the body too

    assert client.post(url.removeprefix(settings.SITE_URL)).status_code == 200
    assert Suppression.objects.for_company(shop.company).get().email_digest == email_digest(
        "kim@example.org"
    )


@pytest.mark.parametrize(
    ("order_locale", "shop_locale", "expected"),
    [
        ("de", "en", "de"),
        ("de-AT", "en", "de"),
        ("fr", "de", "de"),
        ("fr", "it", "en"),
        ("en", "de", "en"),
    ],
)
def test_it_writes_in_the_customers_language(shop, order_locale, shop_locale, expected):
    """The order's language if we ship it, else the shop's default, else English."""
    Shop.objects.unscoped().filter(pk=shop.pk).update(default_locale=shop_locale)
    invitation = claimed(shop, order__locale=order_locale)
    invitation = Invitation.objects.unscoped().select_related("shop", "order").get(pk=invitation.pk)
    assert emails.email_locale(invitation) == expected


@pytest.mark.parametrize("locale", ["en", "de"])
def test_it_renders_invitation_and_reminder_in_english_and_german(shop, locale):
    """Both kinds, both languages, text and HTML: greeting, order, link, validity, unsubscribe."""
    invitation = claimed(shop, order__locale=locale, first_name="Kim")
    words = {
        "en": ("Hello Kim", "Rate your purchase", "valid until", "Unsubscribe"),
        "de": ("Hallo Kim", "Jetzt bewerten", "gültig bis", "abmelden"),
    }[locale]
    with translation.override(locale):
        valid_until = date_format(timezone.localtime(invitation.expires_at).date(), "DATE_FORMAT")
    for kind in ("invitation", "reminder_1"):
        rendered = emails.render_email(invitation, kind=kind)
        context = emails.email_context(invitation, locale=locale)
        for part in (rendered.text, rendered.html):
            for word in (*words, invitation.order.order_id, valid_until, "ACME-A Shop"):
                assert word in part, (kind, word)
            assert context["rating_link"] in part and unsubscribes(part, invitation)
        assert "\n" not in rendered.subject and "ACME-A Shop" in rendered.subject
    assert ("Erinnerung" in rendered.subject) == (locale == "de")


def test_it_escapes_shop_and_customer_values_in_html_and_shows_the_logo(shop):
    """IN-5: names are text in the HTML part; the logo is an absolute URL."""
    Shop.objects.unscoped().filter(pk=shop.pk).update(
        name="A&B <script>x</script>", logo="logos/acme.png"
    )
    invitation = claimed(shop, first_name="<b>Kim</b>")
    invitation = Invitation.objects.unscoped().select_related("shop", "order").get(pk=invitation.pk)
    rendered = emails.render_email(invitation, kind="invitation")
    assert "<script>" not in rendered.html and "A&amp;B &lt;script&gt;" in rendered.html
    assert "&lt;b&gt;Kim" in rendered.html
    assert f'src="{settings.SITE_URL}/media/logos/acme.png"' in rendered.html
    assert "A&B <script>x</script>" in rendered.text  # plain text is not HTML-escaped
    assert rendered.subject == "How was your order at A&B <script>x</script>?"


def test_it_keeps_a_crlf_name_out_of_the_headers(shop):
    """IN-6: a first name and a shop name carrying CR/LF and a Bcc header give one recipient and
    one-line headers, also through a shop's own subject."""
    Shop.objects.unscoped().filter(pk=shop.pk).update(name="ACME\r\nBcc: shop@evil.example")
    shop.refresh_from_db()
    emails.email_template_save(
        shop=shop, kind="invitation", locale="en", subject="{{ first_name }}, rate us", body="Hi"
    )
    invitation = claimed(shop, first_name="Kim\r\nBcc: victim@evil.example", email="k@example.org")
    send(invitation)

    (message,) = mail.outbox
    assert message.recipients() == ["k@example.org"]
    raw = message.message().as_bytes()
    assert not re.search(rb"^bcc:", raw, re.IGNORECASE | re.MULTILINE)
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Kim Bcc: victim@evil.example, rate us"
    assert parsed["From"].addresses[0].addr_spec == settings.DEFAULT_FROM_EMAIL
    assert (
        parsed["From"].addresses[0].display_name
        == "ACME Bcc: shop@evil.example via Review platform"
    )
    assert len(parsed["From"].addresses) == 1


def test_it_encodes_non_ascii_names_and_idn_domains(shop):
    """IN-4: RFC 2047 display name and subject; an IDN domain in its ASCII form."""
    Shop.objects.unscoped().filter(pk=shop.pk).update(name="Bücher-Müller")
    invitation = claimed(shop, email="kim@xn--bcher-kva.de", order__locale="de")
    send(invitation)
    raw = mail.outbox[0].message().as_bytes()
    headers = raw.split(b"\n\n", 1)[0]
    assert headers.isascii() and b"=?utf-8?" in headers  # RFC 2047 encoded words
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["From"].addresses[0].display_name == "Bücher-Müller via Review platform"
    assert parsed["Subject"] == "Wie war Ihre Bestellung bei Bücher-Müller?"
    assert parsed["To"].addresses[0].addr_spec == "kim@xn--bcher-kva.de"


# --- Shop overrides (sandbox) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "source", "message"),
    [
        ("body", "{{ ''.__class__.__mro__ }}", "Attribute access"),
        ("body", "{{ settings.SECRET_KEY }}", "Unknown variable(s): settings"),
        ("body", "{{ config }} {{ request }}", "Unknown variable(s): config, request"),
        ("body", "{{ first_name.upper() }}", "Attribute access"),
        ("body", "{{ first_name['x'] }}", "Attribute access"),
        ("body", "{% for i in range(10) %}x{% endfor %}", "Only {{ variables }}"),
        ("body", "{{ lipsum(10**9) }}", "Unknown variable(s): lipsum"),
        ("body", "{{ first_name|attr('__class__') }}", "The filter 'attr' is not allowed"),
        ("body", "{% include 'base.html' %}", "Only {{ variables }}"),
        ("body", "{{ first_name", "syntax error"),
        ("subject", "Hello\r\nBcc: x@evil.example", "single line"),
        ("subject", "", "Write a subject"),
    ],
)
def test_it_refuses_an_override_that_leaves_the_sandbox(shop, field, source, message):
    """Templates are sandboxed: the documented variables only, no attributes, calls or loops."""
    values = {"subject": "Your order {{ order_id }}", "body": "Rate: {{ rating_link }}"}
    values[field] = source
    with pytest.raises(ValidationError) as refused:
        emails.email_template_save(shop=shop, kind="invitation", locale="en", **values)
    assert message in " ".join(refused.value.message_dict[field])
    assert not EmailTemplate.objects.for_company(shop.company).exists()


def test_it_saves_and_renders_an_override_inside_the_trusted_layout(shop, other_shop):
    """A saved override: its text escaped in HTML, our button, validity and unsubscribe footer;
    the other company's emails keep the default text."""
    emails.email_template_save(
        shop=shop,
        kind="invitation",
        locale="en",
        subject="{{ shop_name|upper }}: order {{ order_id }}",
        body="Dear {{ first_name|default('customer', true) }},\n\n<script>alert(1)</script>\n"
        "{% if last_name %}({{ last_name }}){% endif %}",
    )
    emails.email_template_save(
        shop=shop,
        kind="invitation",
        locale="en",
        subject="v2 {{ order_id }}",
        body="Dear {{ first_name }}",
    )
    invitation = claimed(shop, first_name="", last_name="Customer")
    rendered = emails.render_email(invitation, kind="invitation")
    context = emails.email_context(invitation, locale="en")
    assert rendered.subject == f"v2 {invitation.order.order_id}"
    assert rendered.text.startswith("Dear \n") or rendered.text.startswith("Dear\n")
    assert context["rating_link"] in rendered.text and unsubscribes(rendered.text, invitation)
    assert context["rating_link"] in rendered.html and "Unsubscribe with one click" in rendered.html
    assert EmailTemplate.objects.for_company(shop.company).count() == 1

    other = claimed(other_shop)
    assert emails.render_email(other, kind="invitation").subject.startswith("How was your order")

    emails.email_template_save(
        shop=shop,
        kind="invitation",
        locale="en",
        subject="x",
        body="<script>alert(1)</script> {{ last_name|title }}",
    )
    rendered = emails.render_email(invitation, kind="invitation")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Customer" in rendered.html
    assert "<script>" not in rendered.html


def test_it_never_renders_settings_from_a_template_written_around_the_service(shop):
    """A row stored without validation still cannot read settings: the sandbox refuses and the
    email falls back to the default text."""
    EmailTemplate.objects.unscoped().create(
        company=shop.company,
        shop=shop,
        kind="invitation",
        locale="en",
        subject="{{ ''.__class__.__mro__[1].__subclasses__() }}",
        body="{{ settings.SECRET_KEY }}{{ config }}",
    )
    invitation = claimed(shop)
    send(invitation)
    (message,) = mail.outbox
    assert settings.SECRET_KEY not in message.message().as_string()
    assert message.subject == "How was your order at ACME-A Shop?"


# --- Logs and task signatures ------------------------------------------------------------------


def test_it_logs_invitation_ids_never_addresses_or_links(shop, smtp_sink, caplog):
    """R43: sending and bouncing log the invitation's public id, not the address or the link."""
    sent = claimed(shop, email="visible@example.org")
    bounced = claimed(shop, email="bouncing@example.org")
    with caplog.at_level(logging.DEBUG, logger="invitations"):
        send(sent)
        smtp_sink.refuse_recipients("550 5.1.1 <bouncing@example.org> unknown")
        send(bounced)
    text = caplog.text
    assert str(sent.public_id) in text and str(bounced.public_id) in text
    for secret in ("visible@example.org", "bouncing@example.org", "/r/"):
        assert secret not in text


def test_it_passes_only_ids_to_tasks():
    """TESTPLAN §6: tasks take ids, never personal data (no email or name parameters)."""
    celery_app.loader.import_default_modules()
    ours = {name: task for name, task in celery_app.tasks.items() if not name.startswith("celery.")}
    assert "invitations.send_invitation_email" in ours
    for name, task in ours.items():
        parameters = set(inspect.signature(task.run).parameters)
        assert not parameters & {"email", "name", "first_name", "last_name", "address"}, name
    send_parameters = inspect.signature(send_invitation_email.run).parameters
    assert list(send_parameters) == ["invitation_id"]


def test_it_enters_the_tenant_scope_of_the_invitation(shop, other_shop):
    """TI-4: the task finds its tenant from the id; another company's rows stay out of reach."""
    invitation = claimed(other_shop)
    assert connection.vendor == "postgresql"
    assert send(invitation).get() == "sent"
    assert not InvitationEmail.objects.for_company(shop.company).exists()
    assert InvitationEmail.objects.for_company(other_shop.company).count() == 1
