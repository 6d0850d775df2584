"""The SMTP side of a send run: its one connection, and which failures leave it usable (FA-6)."""

from __future__ import annotations

import contextlib
import smtplib

from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import EmailMessage, get_connection

from invitations.sending.limits import MAX_CONNECTION_LOSSES


class Mailer:
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
