"""Embedded-mode email: every message becomes one ``.eml`` file in ``var/mail/``.

Django's file backend appends all messages of a connection to one log file; one file per message
is what the debug mailbox page and the smoke test read.
"""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class MailDirBackend(BaseEmailBackend):
    def __init__(self, *args, file_path: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
            path = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            path.write_bytes(message.message().as_bytes(linesep="\n"))
            sent += 1
        return sent


def mailbox_messages(limit: int = 200) -> list[dict]:
    """The newest messages in the mail directory, parsed for display."""
    from email import message_from_bytes, policy

    directory = Path(getattr(settings, "EMAIL_FILE_PATH", settings.MAIL_DIR))
    if not directory.is_dir():
        return []
    messages = []
    for path in sorted(directory.glob("*.eml"), reverse=True)[:limit]:
        parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = parsed.get_body(preferencelist=("plain", "html"))
        messages.append(
            {
                "id": path.stem,
                "subject": parsed["subject"],
                "from": parsed["from"],
                "to": parsed["to"],
                "date": parsed["date"],
                "body": body.get_content() if body else "",
            }
        )
    return messages
