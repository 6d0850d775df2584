"""Reads for invitations: finding an invitation by the token of its rating link (R9, AU-1)."""

from __future__ import annotations

import re

from invitations import tokens
from invitations.models import Invitation

# Tokens are 43 URL-safe base64 characters; anything else is not worth a database lookup.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation whose link carries ``token``, found through the unique index on its hash."""
    if not TOKEN_PATTERN.match(token):
        return None
    # Cross-tenant by nature: the token itself names the tenant.
    return (
        Invitation.objects.unscoped()
        .select_related("shop", "shop__company", "order")
        .filter(token_hash=tokens.hash_token(token))
        .first()
    )
