"""Log filters: secrets and evaluator contact data never reach a log line (R43, AU-6)."""

import logging
import re

_SECRET_PARAMS = re.compile(
    r"(?P<key>\b(?:auth|interface_pw|interface_password|pw|token|password|api_key)=)[^&\s\"']+",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<key>Bearer\s+)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_RATING_LINK = re.compile(r"(?P<key>/r/)[A-Za-z0-9_-]{16,}")


def redact(text: str) -> str:
    text = _SECRET_PARAMS.sub(r"\g<key>[redacted]", text)
    text = _BEARER.sub(r"\g<key>[redacted]", text)
    text = _RATING_LINK.sub(r"\g<key>[redacted]", text)
    return _EMAIL.sub("[email]", text)


class RedactSecretsFilter(logging.Filter):
    """Rewrites the rendered message once, so every handler sees the redacted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
