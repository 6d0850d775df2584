"""Stars and bars as inline SVG: exact widths without inline styles (the page's CSP has no
'unsafe-inline' for styles), and one accessible label instead of five glyphs.

A page draws a row of stars for every review and product, so each distinct row is drawn once
per process and then reused: the output depends only on the arguments.
"""

from __future__ import annotations

from functools import cache, lru_cache

from django import template
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString

from seals.seal_image import STAR, STAR_GAP, STAR_SIZE, STARS_WIDTH, filled_width

register = template.Library()


@register.simple_tag
@cache
def star_sprite() -> SafeString:
    """The star shape, once per page; every star row refers to it with ``<use>``."""
    return format_html(
        '<svg class="cert-sr" aria-hidden="true" focusable="false"><defs>'
        '<polygon id="cert-star" points="{}"/></defs></svg>',
        STAR,
    )


@cache
def _uses() -> SafeString:
    return format_html_join(
        "",
        '<use href="#cert-star" x="{}"/>',
        ((index * (STAR_SIZE + STAR_GAP),) for index in range(5)),
    )


@lru_cache(maxsize=2048, typed=True)
def _stars(width: float, label: str, size: str) -> SafeString:
    """``label`` is already escaped; the few distinct rows (widths × labels) are kept."""
    clip = f"stars-{str(width).replace('.', '-')}"
    return format_html(
        '<svg class="cert-stars cert-stars-{size}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{label}" focusable="false"><g class="cert-stars-empty">{uses}</g>'
        '<clipPath id="{clip}"><rect width="{filled}" height="{h}"/></clipPath>'
        '<g class="cert-stars-full" clip-path="url(#{clip})">{uses}</g></svg>',
        size=size,
        w=STARS_WIDTH,
        h=STAR_SIZE + 1,
        label=label,
        uses=_uses(),
        clip=clip,
        filled=width,
    )


@register.simple_tag
def stars(value, label: str, size: str = "md") -> SafeString:
    """Five stars filled up to ``value`` (an int or the displayed average), labelled.

    Needs ``{% star_sprite %}`` earlier in the page.
    """
    width = filled_width(value) if value is not None else 0
    return _stars(width, conditional_escape(label), size)


@register.simple_tag
@lru_cache(maxsize=128)
def bar(percent: int) -> SafeString:
    """A horizontal bar ``percent`` wide, for the star distribution (decorative)."""
    return format_html(
        '<svg class="cert-bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true" '
        'focusable="false"><rect class="cert-bar-track" width="100" height="8" rx="4"/>'
        '<rect class="cert-bar-fill" width="{}" height="8" rx="4"/></svg>',
        max(0, min(100, int(percent))),
    )
