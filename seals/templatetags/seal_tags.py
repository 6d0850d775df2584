"""Stars and bars as inline SVG: exact widths without inline styles (the page's CSP has no
'unsafe-inline' for styles), and one accessible label instead of five glyphs."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join

from seals.seal_image import STAR, STAR_GAP, STAR_SIZE, STARS_WIDTH, filled_width

register = template.Library()


@register.simple_tag
def star_sprite():
    """The star shape, once per page; every star row refers to it with ``<use>``."""
    return format_html(
        '<svg class="cert-sr" aria-hidden="true" focusable="false"><defs>'
        '<polygon id="cert-star" points="{}"/></defs></svg>',
        STAR,
    )


@register.simple_tag
def stars(value, label: str, size: str = "md"):
    """Five stars filled up to ``value`` (an int or the displayed average), labelled.

    Needs ``{% star_sprite %}`` earlier in the page.
    """
    width = filled_width(value) if value is not None else 0
    uses = format_html_join(
        "",
        '<use href="#cert-star" x="{}"/>',
        ((index * (STAR_SIZE + STAR_GAP),) for index in range(5)),
    )
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
        uses=uses,
        clip=clip,
        filled=width,
    )


@register.simple_tag
def bar(percent: int):
    """A horizontal bar ``percent`` wide, for the star distribution (decorative)."""
    return format_html(
        '<svg class="cert-bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true" '
        'focusable="false"><rect class="cert-bar-track" width="100" height="8" rx="4"/>'
        '<rect class="cert-bar-fill" width="{}" height="8" rx="4"/></svg>',
        max(0, min(100, int(percent))),
    )
