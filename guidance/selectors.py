"""Reads of the guidance app: which general tips apply to a shop right now (R48, 001 §2.10).

Tips are proposals of a general nature (001 §2.10), so the triggers are simple, explainable
facts the dashboard already computed; nothing here queries the reviews or invitations itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from companies.models import Shop, User
from guidance.models import Tip, TipDismissal
from seals import scoring

NEGATIVE_MAX_STARS = 2  # a review with 1 or 2 stars is negative
RATE_DROP_POINTS = 10  # percentage points, last 30 days against the 30 days before
RATE_MIN_SENT = 10  # fewer invitations sent in either period say nothing about a trend
SEAL_MARGIN_TENTHS = 1  # "within 0.1 of the current tier's threshold"

TIER_RANK = {scoring.STANDARD: 0, scoring.BRONZE: 1, scoring.SILVER: 2, scoring.GOLD: 3}


@dataclass(frozen=True)
class TipFacts:
    """What the triggers look at, computed by the dashboard's set-based queries."""

    negative_reviews: int = 0  # published merchant reviews with at most 2 stars, ever
    sent_last: int = 0  # invitations sent in the last 30 days ...
    rated_last: int = 0  # ... and how many of those were rated
    sent_previous: int = 0  # the same for the 30 days before
    rated_previous: int = 0
    seal_tier: str = scoring.STANDARD
    seal_count: int = 0
    seal_sum: int = 0
    leaving_count: int = 0  # reviews of the window older than 11 months: gone within a month
    leaving_sum: int = 0


def response_rate_dropped(facts: TipFacts) -> bool:
    """Rated/sent fell by at least 10 points; exact integers (prev - last >= 1/10)."""
    sent_last, sent_previous = facts.sent_last, facts.sent_previous
    if sent_last < RATE_MIN_SENT or sent_previous < RATE_MIN_SENT:
        return False
    difference = facts.rated_previous * sent_last - facts.rated_last * sent_previous
    return 100 * difference >= RATE_DROP_POINTS * sent_previous * sent_last


def seal_at_risk(facts: TipFacts) -> bool:
    """The tier is bronze or better and either the average is within 0.1 of its threshold or
    the reviews leaving the 12-month window next month would push the shop below it (R24)."""
    if facts.seal_tier == scoring.STANDARD:
        return False
    threshold = dict(scoring.THRESHOLDS)[facts.seal_tier]
    near = 10 * facts.seal_sum < (threshold + SEAL_MARGIN_TENTHS) * facts.seal_count
    after = scoring.tier_for(
        count=facts.seal_count - facts.leaving_count, total=facts.seal_sum - facts.leaving_sum
    )
    return near or TIER_RANK[after] < TIER_RANK[facts.seal_tier]


def tips_triggered(facts: TipFacts) -> list[str]:
    triggers = {
        Tip.NEGATIVE_REVIEW: facts.negative_reviews > 0,
        Tip.RESPONSE_RATE: response_rate_dropped(facts),
        Tip.SEAL_AT_RISK: seal_at_risk(facts),
    }
    return [tip.value for tip, applies in triggers.items() if applies]


def tips_for(*, user: User, shop: Shop, facts: TipFacts) -> list[str]:
    """The tips to show ``user`` for ``shop``: triggered and not dismissed (one query)."""
    dismissed = set(
        TipDismissal.objects.for_company(shop.company_id)
        .filter(shop=shop, user=user)
        .values_list("tip", flat=True)
    )
    return [tip for tip in tips_triggered(facts) if tip not in dismissed]
