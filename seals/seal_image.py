"""The seal image ``seal.svg`` (R25, R26): tier colour, average, stars and "Status as of".

Only numbers and labels reach the image, escaped as XML; the shop's name appears in the
accessible title only. :func:`render` fills the few values into pieces built once per process
(the frame, the star rows): every request that no cache answers draws the image, and a template
engine costs more CPU than the database read behind it.
"""

from __future__ import annotations

import math

from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.translation import gettext, ngettext

from companies.models import Shop
from seals import selectors
from seals.models import SealStatus
from seals.widget import as_of, tier_label, tier_short_label

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


def context(*, shop: Shop, status: SealStatus | None, available: bool) -> dict:
    """What the image shows: ``status`` is the shop's merchant seal status, if it has one."""
    if not available:
        return {
            "available": False,
            "title": gettext("Reviews are not available."),
            "line": gettext("Not available"),
            "colour": NEUTRAL,
        }
    counted = status is not None and status.review_count > 0
    tier = status.tier if status is not None and selectors.shows_tier(shop) else None
    date = as_of(status.status_as_of if status else timezone.localdate())
    status_line = gettext("Status as of {date}").format(date=date)
    label = tier_label(tier) if tier else gettext("Customer reviews")
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
    }


_HEAD = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="280" height="104" viewBox="0 0 280 104" '
    'role="img" aria-labelledby="seal-title" '
    "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif\">\n"
    '<title id="seal-title">{title}</title>\n'
    '<rect x="1" y="1" width="278" height="102" rx="14" fill="#ffffff" stroke="#d9dde3" '
    'stroke-width="2"/>\n'
    '<circle cx="52" cy="52" r="38" fill="{colour}"/>\n'
    '<circle cx="52" cy="52" r="32" fill="none" stroke="#ffffff" stroke-opacity="0.55" '
    'stroke-width="2"/>\n'
)
_BADGE_STAR = (
    '<g transform="translate(40 {y}) scale(1.7)"><polygon points="' + STAR + '" fill="#ffffff"/>'
    "</g>\n"
)
_TIER = (
    '<text x="52" y="70" text-anchor="middle" font-size="{size}" font-weight="700" '
    'letter-spacing="{spacing}" fill="#ffffff">{tier}</text>'
)
_LABEL = '<text x="104" y="28" font-size="13" font-weight="700" fill="{colour}">{label}</text>\n'


def _star_row(fill: str) -> str:
    return "".join(
        f'<polygon transform="translate({x} 0)" points="{STAR}" fill="{fill}"/>'
        for x in STAR_OFFSETS
    )


_AVERAGE = (
    '<text x="104" y="56" font-size="26" font-weight="700" fill="#1d2330">{average}'
    '<tspan font-size="13" font-weight="500" fill="#5b6474" dx="2">/5</tspan></text>\n'
    '<defs><clipPath id="filled"><rect x="0" y="0" width="{width}" height="16"/></clipPath>'
    "</defs>\n"
    f'<g transform="translate(170 38)">{_star_row("#c9ced6")}'
    f'<g clip-path="url(#filled)">{_star_row("#c27c00")}</g></g>'
)
_LINES = (
    '\n<text x="104" y="{y1}" font-size="11" fill="#4b5462">{count_line}</text>\n'
    '<text x="104" y="{y2}" font-size="11" fill="#4b5462">{status_line}</text>\n\n</svg>\n'
)
_NOT_AVAILABLE = (
    '<text x="52" y="59" text-anchor="middle" font-size="22" font-weight="700" '
    'fill="#ffffff">\u2013</text>\n'
    '<text x="104" y="57" font-size="14" font-weight="600" fill="#4b5462">{line}</text>\n</svg>\n'
)


def _available(values: dict) -> str:
    tier = values["tier_short"]
    long_tier = len(tier) > 6
    average = values["average"]
    parts = [_BADGE_STAR.format(y=26 if tier else 38)]
    if tier:
        parts.append(
            _TIER.format(
                size=9 if long_tier else 11,
                spacing="0.2" if long_tier else "0.8",
                tier=escape(tier.upper()),
            )
        )
    parts.append("\n" + _LABEL.format(colour=values["colour"], label=escape(values["tier_label"])))
    if average is not None:
        width = formats.localize(values["filled_width"], use_l10n=False)
        parts.append(_AVERAGE.format(average=escape(formats.localize(average)), width=width))
    parts.append(
        _LINES.format(
            y1=54 if average is None else 76,
            y2=72 if average is None else 92,
            count_line=escape(values["count_line"]),
            status_line=escape(values["status_line"]),
        )
    )
    return "".join(parts)


def render(*, shop: Shop, status: SealStatus | None, available: bool) -> str:
    """The SVG document, in the active language."""
    values = context(shop=shop, status=status, available=available)
    head = _HEAD.format(title=escape(values["title"]), colour=values["colour"])
    if not available:
        return head + _NOT_AVAILABLE.format(line=escape(values["line"]))
    return head + _available(values)
