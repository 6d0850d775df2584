"""The automatic check of texts against the review conditions (R17, R18).

A pure function over text, with no models, so ``reviews`` can ask it without importing upwards
(DESIGN.md §4). Its answer never depends on the star rating (R17): callers do not pass it.

The rule set (profanity, personal data, links, incentives, threats) is added by the moderation
work; until then every text passes unchanged, and this module stays the single place where the
decision is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PUBLISH = "publish"
HOLD = "hold"


@dataclass(frozen=True)
class Finding:
    rule: str
    start: int
    end: int


@dataclass(frozen=True)
class TextCheck:
    decision: str  # PUBLISH or HOLD
    text: str  # the text to publish, with inadmissible spans replaced by ***
    findings: tuple[Finding, ...] = field(default_factory=tuple)


def check_text(text: str) -> TextCheck:
    """Decide on one comment, company comment or dialogue message."""
    return TextCheck(decision=PUBLISH, text=text)
