"""SMTP PIPELINING (RFC 2920): a send run writes MAIL FROM, RCPT TO and DATA in one go when the
server offers it, and reads every failure as it would one command at a time.

ID-4 (cost, and the same outcomes for refusals) and FA-6 (which failures keep the connection).
The outcomes of real batches are covered in both modes by the ``sink`` fixtures of
test_sending.py and test_sending_batch.py; here a scripted server on 127.0.0.1 gives the answers
aiosmtpd never gives, such as a 354 to a DATA whose recipients were all refused.
"""

from __future__ import annotations

import smtplib
import socket
import threading
from collections import defaultdict, deque

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

from invitations.models import Invitation
from invitations.sending import invitation_emails_send
from invitations.sending.mailer import Mailer, dot_stuffed, quoted
from tests import factories
from tests.live.sink import send_to


class ScriptedServer:
    """An SMTP server on a loopback socket answering from a script: each command's replies are
    taken from its queue (``then``), else a plain success. It notes the verb of every command
    it reads."""

    def __init__(self, *, pipelining: bool = True) -> None:
        self.pipelining = pipelining
        self.replies: dict[str, deque[str]] = defaultdict(deque)
        self.commands: list[str] = []
        self.messages: list[bytes] = []
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # so that ``close`` ends the thread soon
        self._closed = threading.Event()
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def then(self, verb: str, *replies: str) -> None:
        self.replies[verb].extend(replies)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(10)
            self.connections += 1
            with conn, conn.makefile("rb") as reader:
                self._converse(conn, reader)

    def _converse(self, conn: socket.socket, reader) -> None:
        conn.sendall(b"220 scripted ESMTP\r\n")
        defaults = {"EHLO": None, "DATA": "354 End data with <CR><LF>.<CR><LF>", "QUIT": "221 Bye"}
        while line := reader.readline():
            verb = line.decode().split(" ", 1)[0].split(":", 1)[0].strip().upper()
            self.commands.append(verb)
            if verb == "EHLO":
                offered = "250-PIPELINING\r\n" if self.pipelining else ""
                conn.sendall(f"250-scripted\r\n{offered}250 SIZE 1000000\r\n".encode())
                continue
            queue = self.replies[verb]
            reply = queue.popleft() if queue else defaults.get(verb, "250 OK")
            conn.sendall(f"{reply}\r\n".encode())
            if reply.startswith("421") or verb == "QUIT":
                return
            if verb == "DATA" and reply.startswith("354"):
                body = b""
                while not body.endswith(b"\r\n.\r\n") and body != b".\r\n":
                    chunk = reader.readline()
                    if not chunk:
                        return
                    body += chunk
                self.messages.append(body)
                queue = self.replies["END"]
                conn.sendall(f"{queue.popleft() if queue else '250 queued'}\r\n".encode())


@pytest.fixture
def scripted(settings):
    server = ScriptedServer()
    send_to(settings, server.port)
    yield server
    server.close()


@pytest.fixture
def writes(monkeypatch) -> list[bytes | str]:
    """What the client writes to its SMTP connections, one entry per write (counted, not
    changed)."""
    written: list[bytes | str] = []
    send = smtplib.SMTP.send

    def counting_send(smtp: smtplib.SMTP, data) -> None:
        written.append(data)
        send(smtp, data)

    monkeypatch.setattr(smtplib.SMTP, "send", counting_send)
    return written


def message(to: str = "kim@example.org") -> EmailMessage:
    return EmailMessage("Hello", "Dear customer", "shop@example.com", [to])


def test_it_writes_the_envelope_in_one_go_when_the_server_offers_pipelining_id_4(scripted, writes):
    """ID-4 (cost): two writes per email (the envelope with DATA, then the message) instead of
    four; the server reads the same commands in the same order and stores the message."""
    mailer = Mailer()
    mailer.send(message())
    writes.clear()
    mailer.send(message("lou@example.org"))
    mailer.close()

    assert len(writes) == 2 + 1  # the envelope, the message, QUIT
    assert writes[0].startswith("MAIL FROM:<shop@example.com> SIZE=")
    assert writes[0].endswith("\r\nRCPT TO:<lou@example.org>\r\nDATA\r\n")
    assert scripted.commands == [
        "EHLO", "MAIL", "RCPT", "DATA", "MAIL", "RCPT", "DATA", "QUIT",
    ]  # fmt: skip
    assert len(scripted.messages) == 2 and b"Dear customer" in scripted.messages[1]


@pytest.mark.parametrize(
    "address",
    [
        "kim@example.org",
        "o'neil+reviews@mail.example.co.uk",
        "{weird}~user@x-y.example",
        "Kim <kim@example.org>",
        "<kim@example.org>",
        "kim@[127.0.0.1]",
        "",
        "no-at-sign",
        '"quoted local"@example.org',
    ],
)
def test_it_quotes_an_envelope_address_as_smtplib_does_id_4(address):
    """ID-4: the pipelined envelope names sender and recipients exactly as ``sendmail`` would."""
    assert quoted(address) == smtplib.quoteaddr(address)


@pytest.mark.parametrize(
    "data",
    [
        b"Subject: x\r\n\r\nplain body\r\n",
        b".starts with a dot\r\nbody\r\n",
        b"Subject: x\r\n\r\n.\r\n..two\r\nend.\r\n.",
        b"a\n.b\r.c\r\n",
        b"",
    ],
)
def test_it_doubles_a_leading_dot_as_smtplib_does_id_4(data):
    """RFC 5321 4.5.2, ID-4: every line starting with a dot gets a second one, as in
    ``SMTP.data``; a message without such a line is sent as it is."""
    assert dot_stuffed(data) == smtplib._quote_periods(data)  # noqa: SLF001


def test_it_delivers_lines_that_start_with_a_dot_unchanged_id_4(scripted):
    """RFC 5321 4.5.2: a body line ".", "..x" or ".x" reaches the server dot-stuffed, so a lone
    dot in a text cannot end the message early; the server stores the whole text."""
    text = "Dear customer\n.\n.signature\n..two\nthe end"
    mailer = Mailer()
    mailer.send(EmailMessage("Hello", text, "shop@example.com", ["kim@example.org"]))
    mailer.close()

    assert len(scripted.messages) == 1
    stored = scripted.messages[0]
    assert b"\r\n..\r\n..signature\r\n...two\r\nthe end" in stored
    assert stored.endswith(b"\r\n.\r\n")


def test_it_sends_one_command_at_a_time_to_a_server_without_pipelining_id_4(settings, writes):
    """ID-4: without PIPELINING on offer, each command waits for its reply, as smtplib does."""
    server = ScriptedServer(pipelining=False)
    send_to(settings, server.port)
    try:
        mailer = Mailer()
        mailer.send(message())
        writes.clear()
        mailer.send(message("lou@example.org"))
        mailer.close()
    finally:
        server.close()
    assert len(writes) == 4 + 1  # MAIL, RCPT, DATA, the message, QUIT
    assert len(server.messages) == 2


def test_it_ends_a_data_the_server_let_through_after_refusing_every_recipient_fa_6(scripted):
    """RFC 2920 3.1, FA-6: the recipient is refused (550) but DATA gets a 354 all the same. The
    client sends the lone dot (nothing to deliver), resets, raises the refusal ``sendmail``
    raises, and keeps the connection: the next email goes out on it."""
    scripted.then("RCPT", "550 5.1.1 no such user")
    mailer = Mailer()
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        mailer.send(message())
    assert refused.value.recipients == {"kim@example.org": (550, b"5.1.1 no such user")}
    mailer.failed(refused.value)
    assert mailer.is_open and scripted.messages == [b".\r\n"]
    assert scripted.commands[-1] == "RSET"

    mailer.send(message("lou@example.org"))
    mailer.close()
    assert scripted.connections == 1 and b"Dear customer" in scripted.messages[-1]


@pytest.mark.parametrize(
    ("verb", "error"),
    [
        ("MAIL", smtplib.SMTPSenderRefused),
        ("DATA", smtplib.SMTPDataError),
        ("END", smtplib.SMTPDataError),
    ],
)
def test_it_raises_what_sendmail_raises_for_a_refusal_and_keeps_the_connection_fa_6(
    scripted, verb, error
):
    """FA-6, ID-4(b): a 5xx to any step raises ``sendmail``'s error with the server's code; the
    transaction is reset and the connection carries the next email."""
    scripted.then(verb, "554 5.7.1 refused")
    mailer = Mailer()
    with pytest.raises(error) as raised:
        mailer.send(message())
    assert raised.value.smtp_code == 554
    mailer.failed(raised.value)
    assert mailer.is_open and scripted.commands[-1] == "RSET"
    mailer.send(message("lou@example.org"))
    mailer.close()
    assert scripted.connections == 1


@pytest.mark.parametrize("verb", ["MAIL", "RCPT", "DATA", "END"])
def test_it_drops_the_connection_on_a_421_at_any_step_fa_6(scripted, verb):
    """FA-6: 421 is the server closing the connection, wherever it comes; the run drops it and
    opens a new one for the next email."""
    scripted.then(verb, "421 4.3.2 down")
    mailer = Mailer()
    with pytest.raises((smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)) as raised:
        mailer.send(message())
    code = getattr(raised.value, "smtp_code", None)
    assert code == 421 or raised.value.recipients == {"kim@example.org": (421, b"4.3.2 down")}
    mailer.failed(raised.value)
    assert not mailer.is_open and not mailer.down
    mailer.send(message("lou@example.org"))
    mailer.close()
    assert scripted.connections == 2 and b"Dear customer" in scripted.messages[-1]


@pytest.mark.django_db
def test_it_costs_two_writes_per_email_in_a_batch_over_a_pipelining_server_id_4(shop, sink, writes):
    """ID-4 (cost): in a whole batch, each further email adds two writes to the SMTP connection
    when the server offers PIPELINING, four when it does not; every email arrives."""
    offered = sink.offers_pipelining()

    def batch_writes(n: int) -> int:
        invitations = [
            factories.InvitationFactory(shop=shop, status="sending", claimed_at=timezone.now())
            for _ in range(n)
        ]
        writes.clear()
        assert invitation_emails_send(invitation_ids=[i.pk for i in invitations]) == {"sent": n}
        assert Invitation.objects.unscoped().filter(status="sent").count() >= n
        return len(writes)

    two, five = batch_writes(2), batch_writes(5)
    assert five - two == 3 * (2 if offered else 4)
    assert len(sink.messages()) == 7
