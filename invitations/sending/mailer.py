"""The SMTP side of a send run: its one connection, and which failures leave it usable (FA-6).

Over Django's SMTP backend the run hands each message's bytes to the connection itself, written
by ``mime.MessageWriter`` (the same bytes and envelope the backend would send); any other backend
(the embedded mode's mail directory, the test outbox) gets the message as usual."""

from __future__ import annotations

import contextlib
import functools
import smtplib
import socket
from collections.abc import Callable

from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from invitations.sending.limits import MAX_CONNECTION_LOSSES
from invitations.sending.mime import PLAIN_ADDRESS, MessageWriter


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
    if smtp.has_extn("pipelining"):
        _sendmail_pipelined(smtp, envelope, meanwhile)
        return
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


def _sendmail_pipelined(
    smtp: smtplib.SMTP, envelope: tuple, meanwhile: Callable[[], None] | None
) -> None:
    """``smtp.sendmail(*envelope)`` in two round trips instead of three plus one per recipient,
    for a server that offers PIPELINING (RFC 2920): MAIL FROM, every RCPT TO and DATA go out in
    one write and their replies are read in order; the message follows once DATA has its 354.

    Every failure raises what ``sendmail`` raises for it, so ``Mailer.failed`` and the batch read
    it the same way, and leaves the connection as ``sendmail`` would: closed after a 421, reset
    otherwise. A recipient the server refused while others were accepted is not an error, as
    with ``sendmail``."""
    sender, recipients, message = envelope
    size = f" SIZE={len(message)}" if smtp.has_extn("size") else ""
    commands = [f"MAIL FROM:{quoted(sender)}{size}\r\n"]
    commands += [f"RCPT TO:{quoted(address)}\r\n" for address in recipients]
    smtp.send("".join([*commands, "DATA\r\n"]))
    mail = _reply(smtp, lambda code, text: smtplib.SMTPSenderRefused(code, text, sender))
    refused: dict[str, tuple[int, bytes]] = {}
    for address in recipients:
        code, text = _reply(smtp, lambda code, text, a=address: _refused(refused, a, code, text))
        if code not in (250, 251):
            refused[address] = (code, text)
    data = _reply(smtp, smtplib.SMTPDataError)
    if data[0] == 354 and (mail[0] != 250 or len(refused) == len(recipients)):
        # DATA let through with no transaction to carry it: an empty message ends it, and the
        # server must not deliver it (RFC 2920, 3.1).
        smtp.send(b".\r\n")
        _reply(smtp, smtplib.SMTPDataError)
    if mail[0] != 250:
        smtp._rset()  # noqa: SLF001 (as sendmail: a reset that ignores a server already gone)
        raise smtplib.SMTPSenderRefused(*mail, sender)
    if len(refused) == len(recipients):
        smtp._rset()  # noqa: SLF001
        raise smtplib.SMTPRecipientsRefused(refused)
    if data[0] != 354:
        smtp._rset()  # noqa: SLF001
        raise smtplib.SMTPDataError(*data)
    body = dot_stuffed(message)
    if body[-2:] != b"\r\n":
        body += b"\r\n"
    smtp.send(body + b".\r\n")
    if meanwhile is not None:
        meanwhile()
    done = _reply(smtp, smtplib.SMTPDataError)
    if done[0] != 250:
        smtp._rset()  # noqa: SLF001
        raise smtplib.SMTPDataError(*done)


def quoted(address: str) -> str:
    """``smtplib.quoteaddr(address)``; a plain address (what ``mime.envelope_address`` returns
    for nearly every recipient) without parsing it."""
    if PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return _parsed_and_quoted(address)


@functools.lru_cache(maxsize=1024)
def _parsed_and_quoted(address: str) -> str:
    # The envelope sender keeps its display name ('"<shop> via <platform>" <address>', as
    # Django's backend passes it) and repeats with every email of a shop.
    return smtplib.quoteaddr(address)


def dot_stuffed(message: bytes) -> bytes:
    """What ``SMTP.data`` does to a message (RFC 5321, 4.5.2: a line's leading dot doubled),
    without the regular expression's pass over the message when no line starts with a dot."""
    if message[:1] != b"." and b"\n." not in message:
        return message
    return smtplib._quote_periods(message)  # noqa: SLF001


def _reply(smtp: smtplib.SMTP, error: Callable[[int, bytes], Exception]) -> tuple[int, bytes]:
    """The next reply. 421 is the server closing the connection: close it too and raise
    ``error(code, text)``, what ``sendmail`` raises for a 421 at that point."""
    _quickack(smtp)
    code, text = smtp.getreply()
    if code == 421:
        smtp.close()
        raise error(code, text)
    return code, text


def _refused(refused: dict, address: str, code: int, text: bytes) -> smtplib.SMTPRecipientsRefused:
    return smtplib.SMTPRecipientsRefused({**refused, address: (code, text)})


def _greet(smtp: smtplib.SMTP) -> None:
    """EHLO (or HELO) now rather than in the first ``sendmail``, acknowledging the reply's packets
    at once (``_quickack``): aiosmtpd, for one, writes its multi-line EHLO reply line by line."""
    getreply = smtp.getreply

    def acknowledging_getreply():
        _quickack(smtp)
        return getreply()

    smtp.getreply = acknowledging_getreply
    try:
        smtp.ehlo_or_helo_if_needed()
    finally:
        del smtp.getreply


def _quickack(smtp: smtplib.SMTP) -> None:
    """Acknowledge what arrives next at once. A server that writes a reply in several small
    writes (the lines of EHLO, or one reply per pipelined command) holds each but the first
    until our ACK, which Linux delays by 40 ms (Nagle meets delayed ACK); the delay would be paid
    per batch for EHLO and per email for a pipelined envelope. The setting does not last, so it
    is made before every read."""
    quickack = getattr(socket, "TCP_QUICKACK", None)  # Linux only
    if quickack is not None and smtp.sock is not None:
        with contextlib.suppress(OSError):
            smtp.sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


def _server_answered(exc: BaseException) -> bool:
    """The server refused this message and is still talking (smtplib reset the transaction);
    421 is the server closing the connection."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code != 421 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code != 421
