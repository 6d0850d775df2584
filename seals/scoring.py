"""Pure scoring rules: tier and displayed average from exact integers (R24, R25).

No floats anywhere: the tier compares ``10 * sum`` with ``threshold * count`` and the displayed
average is rounded down, so the number shown always agrees with the tier.
"""

from __future__ import annotations

from decimal import Decimal

MIN_REVIEWS_FOR_TIER = 50  # 004 §2.7

STANDARD = "standard"
BRONZE = "bronze"
SILVER = "silver"
GOLD = "gold"

# (tier, threshold in tenths of a star), best first.
THRESHOLDS: tuple[tuple[str, int], ...] = ((GOLD, 48), (SILVER, 44), (BRONZE, 40))


def tier_for(*, count: int, total: int) -> str:
    """The seal tier for ``count`` reviews whose star ratings add up to ``total``."""
    if count < MIN_REVIEWS_FOR_TIER:
        return STANDARD
    for tier, tenths in THRESHOLDS:
        if 10 * total >= tenths * count:
            return tier
    return STANDARD


def displayed_average(*, count: int, total: int) -> Decimal | None:
    """The mean with one decimal, rounded down (4.79 shows as 4.7, never 4.8)."""
    if count == 0:
        return None
    tenths = (10 * total) // count
    return Decimal(tenths).scaleb(-1)  # exponent -1: always one decimal, e.g. 1.0


def reviews_needed_for(*, count: int, total: int, tier: str) -> int | None:
    """How many more 5-star reviews reach ``tier``: a fact the backend can show."""
    tenths = dict(THRESHOLDS)[tier]
    extra = 0
    while extra < 100_000:
        n, s = count + extra, total + 5 * extra
        if n >= MIN_REVIEWS_FOR_TIER and 10 * s >= tenths * n:
            return extra
        extra += 1
    return None
