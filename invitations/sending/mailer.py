"""The SMTP side of a send run: its one connection, and which failures leave it usable (FA-6).

Over Django's SMTP backend the run hands each message's bytes to the connection itself, written
by ``mime.MessageWriter`` (the same bytes and envelope the backend would send); any other backend
(the embedded mode's mail directory, the test outbox) gets the message as usual."""

from __future__ import annotations

import contextlib
import smtplib
import socket
from collections.abc import Callable

from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from invitations.sending.limits import MAX_CONNECTION_LOSSES
from invitations.sending.mime import MessageWriter


class Mailer:
    """A run's one SMTP connection: opened for the first email, kept, reopened after a loss."""

    def __init__(self) -> None:
        self.backend = get_connection()
        self.is_open = False
        self.losses = 0  # connections lost in a row
        self.down = False
        self.writer = MessageWriter() if isinstance(self.backend, SMTPBackend) else None
        self.prepared: tuple[EmailMessage, tuple] | None = None  # a message and its envelope

    def prepare(self, message: EmailMessage) -> None:
        """Write the message's envelope and bytes ahead of ``send`` (over SMTP)."""
        if self.writer is not None and message.recipients():
            self.prepared = (message, self.writer.envelope(message))

    def send(self, message: EmailMessage, *, meanwhile: Callable[[], None] | None = None) -> None:
        """``meanwhile``: what to do while the server reads the message and before its answer
        (over SMTP; otherwise after sending). It must not raise."""
        if not self.is_open:
            try:
                self.backend.open()
            except (OSError, SoftTimeLimitExceeded):
                self.down = True  # refused, timed out or turned us away: stop the batch
                raise
            self.is_open = True
            if self.writer is not None:
                _greet(self.backend.connection)
        if self.writer is None:
            self.backend.send_messages([message])
            if meanwhile is not None:
                meanwhile()
        elif message.recipients():
            # What EmailBackend._send does, without building the MIME tree (``mime``).
            prepared, self.prepared = self.prepared, None
            if prepared is not None and prepared[0] is message:
                envelope = prepared[1]
            else:
                envelope = self.writer.envelope(message)
            _sendmail(self.backend.connection, envelope, meanwhile)
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


def _sendmail(smtp: smtplib.SMTP, envelope: tuple, meanwhile: Callable[[], None] | None) -> None:
    """``smtp.sendmail(*envelope)``, running ``meanwhile`` once the message is written: the server
    reads and stores it while we do something else, and its answer waits in the socket."""
    if meanwhile is None:
        smtp.sendmail(*envelope)
        return
    send = smtp.send

    def send_then_meanwhile(data) -> None:
        send(data)
        if isinstance(data, bytes) and data.endswith(b"\r\n.\r\n"):  # the message, not a command
            meanwhile()

    smtp.send = send_then_meanwhile
    try:
        smtp.sendmail(*envelope)
    finally:
        del smtp.send


def _greet(smtp: smtplib.SMTP) -> None:
    """EHLO (or HELO) now rather than in the first ``sendmail``, acknowledging the reply's packets
    at once: a server that writes its multi-line EHLO reply line by line (aiosmtpd does) holds
    the second line until our first ACK, which Linux delays by 40 ms (Nagle meets delayed ACK),
    once per connection and so once per batch."""
    quickack = getattr(socket, "TCP_QUICKACK", None)  # Linux only
    if quickack is None or smtp.sock is None:
        smtp.ehlo_or_helo_if_needed()
        return
    getreply = smtp.getreply

    def acknowledging_getreply():
        with contextlib.suppress(OSError):
            smtp.sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)
        return getreply()

    smtp.getreply = acknowledging_getreply
    try:
        smtp.ehlo_or_helo_if_needed()
    finally:
        del smtp.getreply


def _server_answered(exc: BaseException) -> bool:
    """The server refused this message and is still talking (smtplib reset the transaction);
    421 is the server closing the connection."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code != 421 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code != 421
