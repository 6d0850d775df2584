"""The seal image ``seal.svg`` (R25, R26): tier colour, average, stars and "Status as of".

Only numbers and labels reach the template, which escapes them as XML; the shop's name appears
in the accessible title only.
"""

from __future__ import annotations

import math

from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext

from companies.models import Shop
from seals import selectors
from seals.widget import as_of, tier_labels, tier_short_label

# Darker than the page's accent colours so white text on them keeps a 4.5:1 contrast.
TIER_COLOURS = {
    "gold": "#8a6500",
    "silver": "#5b6470",
    "bronze": "#8a4b1c",
    "standard": "#2f5d8a",
}
NEUTRAL = "#6b7280"
STAR_SIZE = 14
STAR_GAP = 2


def _star_points(size: int = STAR_SIZE) -> str:
    """A five-pointed star in a ``size`` box, as polygon points."""
    centre, outer, inner = size / 2, size / 2, size / 5
    points = []
    for index in range(10):
        radius = outer if index % 2 == 0 else inner
        angle = math.pi / 5 * index - math.pi / 2
        x = centre + radius * math.cos(angle)
        y = centre + 0.5 + radius * math.sin(angle)
        points.append(f"{x:.2f},{y:.2f}")
    return " ".join(points)


STAR = _star_points()
STAR_OFFSETS = [index * (STAR_SIZE + STAR_GAP) for index in range(5)]
STARS_WIDTH = 5 * STAR_SIZE + 4 * STAR_GAP


def filled_width(average) -> float:
    """Width of the gold part of the star row: whole stars plus the part of the next one."""
    whole = int(average)
    part = float(average) - whole
    width = whole * (STAR_SIZE + STAR_GAP) + part * STAR_SIZE
    return round(min(width, STARS_WIDTH), 2)


def context(*, shop: Shop, available: bool) -> dict:
    if not available:
        return {
            "available": False,
            "title": gettext("Reviews are not available."),
            "line": gettext("Not available"),
            "colour": NEUTRAL,
        }
    status = selectors.seal_status_for(shop=shop)
    counted = status is not None and status.review_count > 0
    tier = status.tier if status is not None and selectors.shows_tier(shop) else None
    date = as_of(status.status_as_of if status else timezone.localdate())
    status_line = gettext("Status as of {date}").format(date=date)
    label = tier_labels()[tier] if tier else gettext("Customer reviews")
    if counted:
        count_line = ngettext(
            "{count} review in 12 months", "{count} reviews in 12 months", status.review_count
        ).format(count=status.review_count)
        rating_line = gettext("{value} out of 5 stars").format(
            value=formats.localize(status.average)
        )
    else:
        count_line = gettext("No reviews in the last 12 months yet")
        rating_line = ""
    title = ". ".join(
        part for part in (shop.name, label, rating_line, count_line, status_line) if part
    )
    return {
        "available": True,
        "title": title + ".",
        "colour": TIER_COLOURS[tier] if tier else NEUTRAL,
        "tier_label": label,
        "tier_short": tier_short_label(tier) if tier else "",
        "average": status.average if counted else None,
        "filled_width": filled_width(status.average) if counted else 0,
        "count_line": count_line,
        "status_line": status_line,
        "star": STAR,
        "star_offsets": STAR_OFFSETS,
        "stars_width": STARS_WIDTH,
    }
