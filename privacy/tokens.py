"""Signed erasure links in every email to an evaluator (R42, GD-1).

A link names one company and one invitation or review, never an address; the evaluator's data
is found from there (``moderation.erasure``). The signature is the only secret: nothing is
stored, and the link keeps working as long as there is something left to erase.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, get_urlconf, reverse

ERASURE_SALT = "privacy.erasure"


@dataclass(frozen=True)
class ErasureTarget:
    company_id: int
    invitation_id: int | None
    review_id: int | None


def erasure_token(*, company_id: int, invitation_id=None, review_id=None) -> str:
    payload = {"k": company_id}
    if invitation_id:
        payload["i"] = invitation_id
    if review_id:
        payload["r"] = review_id
    return signing.dumps(payload, salt=ERASURE_SALT)


def erasure_url(*, invitation=None, review=None) -> str:
    """The evaluator's erasure link for an email about ``invitation`` or ``review``."""
    if invitation is not None:
        token = erasure_token(company_id=invitation.company_id, invitation_id=invitation.pk)
    elif review is not None:
        token = erasure_token(
            company_id=review.company_id,
            invitation_id=review.invitation_id,
            review_id=review.pk,
        )
    else:
        raise ValueError("an erasure link names an invitation or a review")
    return settings.SITE_URL + erase_path(token)


_MARK = "0token0"


def erase_path(token: str) -> str:
    """``reverse("privacy:erase", args=[token])`` for a signed token (URL-safe base64 and
    colons, which the path takes as they are), without resolving the pattern for every email
    of a batch: the path around the token is reversed once per URLconf and script prefix."""
    before, after = _around_token(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    return f"{before}{token}{after}"


@lru_cache(maxsize=16)
def _around_token(urlconf: str, script_prefix: str) -> tuple[str, str]:
    before, _, after = reverse("privacy:erase", args=[_MARK], urlconf=urlconf).rpartition(_MARK)
    return before, after


def erasure_target(token: str) -> ErasureTarget | None:
    try:
        payload = signing.loads(token, salt=ERASURE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("k"), int):
        return None
    invitation_id, review_id = payload.get("i"), payload.get("r")
    if not (isinstance(invitation_id, int) or isinstance(review_id, int)):
        return None
    return ErasureTarget(
        company_id=payload["k"],
        invitation_id=invitation_id if isinstance(invitation_id, int) else None,
        review_id=review_id if isinstance(review_id, int) else None,
    )
