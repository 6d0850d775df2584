"""Rating-link tokens (R9, TESTPLAN AU-1).

Each invitation draws a 256-bit nonce from ``secrets``. Its token is the HMAC-SHA256 of that
nonce under a server secret, so the same link can go into the invitation, every reminder and the
eKomi ``putOrder`` answer. The database stores the nonce and ``sha256(token)``; a dump of it
alone yields no working link, and the lookup of a presented token goes through the unique index
on the hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.conf import settings

NONCE_BYTES = 32


def _key() -> bytes:
    return hashlib.sha256(b"rating-link:" + settings.RATING_LINK_SECRET.encode()).digest()


def token_for(nonce: str) -> str:
    digest = hmac.new(_key(), nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mint() -> tuple[str, str]:
    """A fresh nonce and the hash of the token it yields."""
    nonce = secrets.token_hex(NONCE_BYTES)
    return nonce, hash_token(token_for(nonce))


def rating_url(nonce: str) -> str:
    return f"{settings.SITE_URL}/r/{token_for(nonce)}/"
