"""The bytes of an email as Django's SMTP backend sends them, written without building the MIME
object tree for every email of a batch.

Django turns an ``EmailMultiAlternatives`` into ``email.mime`` objects and flattens them with
``email.generator``; for one invitation that costs more than rendering it, most of it in folding
sixteen headers, of which only five differ from one email to the next, and in compiling a regular
expression for every random boundary. ``MessageWriter`` writes the same bytes: headers in the
same order, each folded by the same ``email`` policy call (and cached when it repeats, as the
sender, subject and fixed headers do), the parts' own headers taken from Django's output once,
the bodies with the generator's line endings, and a boundary drawn and checked as the generator
does. Anything it does not write the same way (attachments, Cc, a charset other than UTF-8, a
line long enough for quoted-printable) is left to Django. ``tests/invitations`` compares both
byte for byte.
"""

from __future__ import annotations

import random
import re
import sys
import time
from email import policy as email_policy
from email.utils import formatdate, make_msgid
from functools import lru_cache

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.message import (
    RFC5322_EMAIL_LINE_LENGTH_LIMIT,
    SafeMIMEText,
    forbid_multi_line_headers,
    sanitize_address,
)
from django.core.mail.utils import DNS_NAME
from django.utils.encoding import punycode

_LINESEP = "\r\n"
_POLICY = email_policy.compat32.clone(linesep=_LINESEP)  # what as_bytes(linesep) flattens with
_NEWLINES = re.compile(r"\r\n|\r|\n")  # email.generator.NLCRE
_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))
_OWN_HEADERS = {"from", "to", "cc", "reply-to"}  # set by EmailMessage.message() itself
# local@domain in RFC 5322 dot-atoms, an ASCII domain: what sanitize_address returns unchanged.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# Printable ASCII words with single spaces: a header value the email package leaves as it is when
# it fits on the header's line, and moves whole onto a continuation line when it is one long word.
_SIMPLE_VALUE = re.compile(r"[!-~]+(?: [!-~]+)*")
_MAX_LINE = 78  # email.policy.compat32.max_line_length
PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)")
# A display name of dot-free atoms and single spaces, quoted or not, before a plain address: what
# sanitize_address writes back as "name <address>" (unquoted: nothing in it needs quoting) when
# the name is short enough not to be folded.
NAMED_ADDRESS = re.compile(
    rf'(?P<q>"?)(?P<name>{_ATOM}(?: {_ATOM})*)(?P=q) <(?P<address>{PLAIN_ADDRESS.pattern})>'
)
_NAME_UNFOLDED = 60  # sanitize_address folds a longer name (email.header, 76 columns)


class MessageWriter:
    """Writes the messages of one SMTP connection; remembers what repeats between them."""

    def __init__(self) -> None:
        self._folded: dict[tuple[str, str], bytes] = {}

    def envelope(self, message: EmailMessage) -> tuple[str, list[str], bytes]:
        """(envelope sender, recipients, message bytes), as ``EmailBackend._send`` passes them to
        ``sendmail``."""
        encoding = message.encoding or settings.DEFAULT_CHARSET
        sender = envelope_address(message.from_email, encoding)
        recipients = [envelope_address(address, encoding) for address in message.recipients()]
        return sender, recipients, self.as_bytes(message)

    def as_bytes(self, message: EmailMessage) -> bytes:
        """``message.message().as_bytes(linesep="\\r\\n")``."""
        if not _written_here(message):
            return message.message().as_bytes(linesep=_LINESEP)
        parts = [_text_part("plain", message.body)]
        parts += [_text_part(mimetype[5:], content) for content, mimetype in message.alternatives]
        if None in parts:
            return message.message().as_bytes(linesep=_LINESEP)
        headers = [self._fold(name, value) for name, value in _headers(message)]
        newline = _LINESEP.encode()
        boundary = _boundary(newline.join(parts))
        delimiter = f"--{boundary}".encode()
        return b"".join(
            [
                _content_type(boundary),
                *headers,
                newline,
                delimiter + newline,
                (newline + delimiter + newline).join(parts),
                newline + delimiter + b"--" + newline,
            ]
        )

    def _fold(self, name: str, value: str) -> bytes:
        key = (name, value)
        folded = self._folded.get(key)
        if folded is None:
            folded = self._folded[key] = fold(name, value)
        return folded


def fold(name: str, value: str) -> bytes:
    """``compat32.clone(linesep="\\r\\n").fold_binary(name, value)``: what the generator writes for
    a header; the common simple values without running ``email.header``."""
    if type(value) is str and _SIMPLE_VALUE.fullmatch(value):
        if len(name) + 2 + len(value) <= _MAX_LINE:
            return f"{name}: {value}{_LINESEP}".encode()
        if " " not in value:
            return f"{name}: {_LINESEP} {value}{_LINESEP}".encode()
    return _POLICY.fold_binary(name, value)


def stored_value(name: str, value) -> str:
    """``forbid_multi_line_headers(name, value, "utf-8")[1]``: how ``SafeMIMEMultipart`` stores a
    header; a simple value is stored as it is (a subject only when it fits on one line)."""
    simple = type(value) is str and _SIMPLE_VALUE.fullmatch(value)
    if simple and (name.lower() != "subject" or len(value) <= _MAX_LINE):
        return value
    return forbid_multi_line_headers(name, value, "utf-8")[1]


def envelope_address(address: str | tuple[str, str], encoding: str) -> str:
    """``sanitize_address(address, encoding)``; a plain ASCII address is returned as it is, and
    a short ASCII name before one as "name <address>", as that function would, without parsing
    them (the sender's name changes with the shop, so a cache of them misses in a batch that
    spans many shops)."""
    if type(address) is not str:
        return _sanitized(address, encoding)
    if (match := PLAIN_ADDRESS.fullmatch(address)) is not None:
        if _ascii_domain(match.group(1)):
            return address
    elif (named := NAMED_ADDRESS.fullmatch(address)) is not None:
        name, plain = named.group("name", "address")
        if len(name) <= _NAME_UNFOLDED and _ascii_domain(plain.rpartition("@")[2]):
            return f"{name} <{plain}>"
    return _sanitized(address, encoding)


def _ascii_domain(domain: str) -> bool:
    try:
        return punycode(domain) == domain
    except UnicodeError:
        return False  # sanitize_address raises it


@lru_cache(maxsize=1024)
def _sanitized(address: str | tuple[str, str], encoding: str) -> str:
    # A shop's sender ("<shop> via <platform>" <address>) repeats with every email of the shop.
    return sanitize_address(address, encoding)


def _written_here(message: EmailMessage) -> bool:
    """The shape written here: text and HTML alternatives in UTF-8, no attachments, no Cc."""
    return (
        type(message) is EmailMultiAlternatives
        and (message.encoding or settings.DEFAULT_CHARSET) == "utf-8"
        and message.content_subtype == "plain"
        and message.alternative_subtype == "alternative"
        and isinstance(message.body, str)
        and bool(message.body)
        and bool(message.alternatives)
        and all(
            isinstance(content, str) and mimetype in ("text/plain", "text/html")
            for content, mimetype in message.alternatives
        )
        and not (message.attachments or message.cc or message.reply_to)
        and not any(name.lower() in _OWN_HEADERS for name in message.extra_headers)
    )


def _headers(message: EmailMessage) -> list[tuple[str, str]]:
    """The headers ``EmailMessage.message()`` sets after Content-Type, in its order, each value
    as its ``__setitem__`` stores it."""
    headers = [("MIME-Version", "1.0"), ("Subject", message.subject)]
    headers.append(("From", message.from_email))
    if message.to:
        headers.append(("To", ", ".join(str(address) for address in message.to)))
    names = {name.lower() for name in message.extra_headers}
    if "date" not in names:
        headers.append(("Date", date_now(localtime=settings.EMAIL_USE_LOCALTIME)))
    if "message-id" not in names:
        headers.append(("Message-ID", make_msgid(domain=DNS_NAME)))
    headers += list(message.extra_headers.items())
    return [(name, stored_value(name, value)) for name, value in headers]


_last_date: tuple[tuple[int, bool], str] = ((-1, False), "")


def date_now(*, localtime: bool) -> str:
    """``formatdate(localtime=localtime)``: it writes whole seconds, so the emails of one second
    share one formatted value."""
    global _last_date
    key = (int(time.time()), localtime)
    last_key, value = _last_date
    if key != last_key:
        value = formatdate(key[0], localtime=localtime)
        _last_date = (key, value)
    return value


_PART_HEADERS: dict[tuple[str, str], bytes] = {}


def _text_part(subtype: str, text: str) -> bytes | None:
    """One text part as the generator writes it; None where Django would use quoted-printable."""
    lines = text.splitlines()
    # No line can be longer in UTF-8 than four bytes a character: most texts need no encoding.
    # Only a line between a quarter of the limit and the limit in characters needs encoding to
    # tell (an HTML part has such lines).
    limit = RFC5322_EMAIL_LINE_LENGTH_LIMIT
    if any(
        len(line) * 4 > limit
        and (len(line) > limit or len(line.encode(errors="surrogateescape")) > limit)
        for line in lines
    ):
        return None
    transfer = "7bit" if text.isascii() else "8bit"
    return _part_headers(subtype, transfer) + _NEWLINES.sub(_LINESEP, text).encode()


def _part_headers(subtype: str, transfer: str) -> bytes:
    """A part's header block, taken once from Django's own output for a part of its kind."""
    headers = _PART_HEADERS.get((subtype, transfer))
    if headers is None:
        sample = SafeMIMEText("x" if transfer == "7bit" else "\xe9", subtype, "utf-8")
        flat = sample.as_bytes(linesep=_LINESEP)
        separator = (_LINESEP * 2).encode()
        headers = _PART_HEADERS[subtype, transfer] = flat[: flat.index(separator)] + separator
    return headers


_CONTENT_TYPES: dict[int, bytes] = {}
_PLACEHOLDER = "#"


def _content_type(boundary: str) -> bytes:
    """The folded multipart Content-Type header: where it folds depends only on the boundary's
    length (a boundary has no spaces, commas or semicolons), so it is folded once per length."""
    template = _CONTENT_TYPES.get(len(boundary))
    if template is None:
        placeholder = _PLACEHOLDER * len(boundary)
        value = f'multipart/alternative; boundary="{placeholder}"'
        template = _CONTENT_TYPES[len(boundary)] = fold("Content-Type", value)
    return template.replace((_PLACEHOLDER * len(boundary)).encode(), boundary.encode())


def _boundary(text: bytes) -> str:
    """``email.generator.Generator._make_boundary``: a random token, made longer in the rare case
    the parts contain it as a delimiter line."""
    boundary = "=" * 15 + f"{random.randrange(sys.maxsize):0{_BOUNDARY_DIGITS}d}" + "=="  # noqa: S311
    candidate, counter = boundary, 0
    while f"--{candidate}".encode() in text and re.search(
        b"^--" + re.escape(candidate.encode()) + b"(--)?$", text, re.MULTILINE
    ):
        candidate = f"{boundary}.{counter}"
        counter += 1
    return candidate
