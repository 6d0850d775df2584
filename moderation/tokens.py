"""Signed links for evaluators: the offer to replace a review (R21).

Statement requests (``moderation.complaints``) and dialogue links (``moderation.dialogue``)
sign their own. A signed link names one row and its company; the row decides whether it still
works (used, expired), so nothing secret is stored.
"""

from __future__ import annotations

from django.core import signing

from moderation.models import ReplacementOffer

REPLACEMENT_SALT = "moderation.replacement"


def replacement_token(offer: ReplacementOffer) -> str:
    return signing.dumps({"o": offer.pk, "k": offer.company_id}, salt=REPLACEMENT_SALT)


def offer_from_token(token: str) -> ReplacementOffer | None:
    try:
        data = signing.loads(token, salt=REPLACEMENT_SALT)
    except signing.BadSignature:
        return None
    return (
        ReplacementOffer.objects.for_company(data["k"])
        .select_related("review", "shop")
        .filter(pk=data["o"])
        .first()
    )
