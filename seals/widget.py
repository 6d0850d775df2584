"""The embeddable widget (R28): ``widget.js`` is the static code in ``assets/`` applied to the
shop's data as JSON. The data holds only public aggregates and published texts.

A shop embeds it with a plain link that stays when JavaScript is off or blocked::

    <div data-review-widget="my-shop">
      <a href="https://reviews.example/c/my-shop/">Customer reviews of My Shop</a>
    </div>
    <script src="https://reviews.example/c/my-shop/widget.js" async></script>

``data-product-id="SKU"`` on the container plus ``?product_id=SKU`` on the script shows one
product's stars; ``data-lang="de"`` (or ``?lang=de``) picks the language, otherwise the host
page's ``<html lang>`` does. ``/c/my-shop/widget/`` is the same as a page for an ``<iframe>``.
The widget draws into a Shadow DOM with a constructable stylesheet, so it works under a host
CSP that allows our origin in ``script-src`` and nothing inline.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, gettext_lazy, ngettext, pgettext_lazy

from companies.models import Shop
from seals import selectors
from seals.models import SealStatus
from seals.text import json_for_script, shorten

ASSETS = Path(__file__).resolve().parent / "assets"
LANGUAGES = ("en", "de")
COMMENT_CHARACTERS = 240


@cache
def code() -> str:
    return (ASSETS / "widget.js").read_text(encoding="utf-8").strip()


@cache
def css() -> str:
    return (ASSETS / "widget.css").read_text(encoding="utf-8").strip()


def css_hash() -> str:
    """The CSP source that admits the widget's CSS as an inline ``<style>``."""
    digest = hashlib.sha256(css().encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def _reviews_in_window(count: int) -> str:
    return ngettext(
        "{count} review in the last 12 months", "{count} reviews in the last 12 months", count
    )


def _strings() -> dict[str, str]:
    strings = {
        "decimal": formats.get_format("DECIMAL_SEPARATOR"),
        "out_of_five": gettext("{value} out of 5 stars"),
        "reviews_one": _reviews_in_window(1),
        "reviews_many": _reviews_in_window(2),
        "no_reviews": gettext("No reviews in the last 12 months yet"),
        "verified": gettext("Verified order"),
        "status_as_of": gettext("Status as of {date}"),
        "read_all": gettext("Read all reviews"),
        "not_available": gettext("Reviews are not available."),
        "reviews_of": gettext("Customer reviews of {shop}"),
        "product_reviews_of": gettext("Customer reviews of {product}"),
    }
    for tier, label in tier_labels().items():
        strings[f"tier_{tier}"] = label
        strings[f"tier_short_{tier}"] = tier_short_label(tier)
    return strings


_TIER_LABELS = {
    "standard": gettext_lazy("Standard seal"),
    "bronze": gettext_lazy("Bronze seal"),
    "silver": gettext_lazy("Silver seal"),
    "gold": gettext_lazy("Gold seal"),
}
_TIER_SHORT_LABELS = {
    "standard": pgettext_lazy("seal tier", "Standard"),
    "bronze": pgettext_lazy("seal tier", "Bronze"),
    "silver": pgettext_lazy("seal tier", "Silver"),
    "gold": pgettext_lazy("seal tier", "Gold"),
}


def tier_labels() -> dict[str, str]:
    return {tier: str(label) for tier, label in _TIER_LABELS.items()}


def tier_label(tier: str) -> str:
    """One tier's label in the active language (one lookup, not four)."""
    return str(_TIER_LABELS[tier])


def tier_short_label(tier: str) -> str:
    return str(_TIER_SHORT_LABELS[tier])


def strings_by_language() -> dict[str, dict[str, str]]:
    result = {}
    for language in LANGUAGES:
        with translation.override(language):
            result[language] = _strings()
    return result


def certificate_url(shop: Shop) -> str:
    return settings.SITE_URL + reverse("seals:certificate", args=[shop.slug])


def as_of(date) -> str:
    """DD/MM/YYYY, as every place that shows a status states its date (R26)."""
    return date.strftime("%d/%m/%Y")


def _base(shop: Shop, *, product_id: str, language: str) -> dict:
    """The per-shop part every script carries; :func:`script` adds the constant part."""
    return {
        "slug": shop.slug,
        "product_id": product_id,
        "lang": language or None,
        "url": certificate_url(shop),
    }


def widget_data(
    *, shop: Shop, seal: SealStatus | None, product_id: str = "", language: str = ""
) -> dict:
    """Everything the widget shows, for the merchant seal or one product's stars.

    ``seal`` is the shop's merchant status, read with the shop.
    """
    data = _base(shop, product_id=product_id, language=language)
    product = None
    if product_id:
        product, status = selectors.widget_product(shop=shop, product_id=product_id)
        tier = None  # the seal is the shop's; a product shows its stars (R13)
    else:
        status = seal
        tier = status.tier if status and selectors.shows_tier(shop) else None
    counted = status is not None and status.review_count > 0
    reviews = []
    if product is not None or not product_id:
        reviews = selectors.widget_reviews(shop=shop, product=product)
    zone = timezone.get_current_timezone()
    data.update(
        available=True,
        shop=shop.name,
        product=product.name if product else None,
        tier=tier,
        average=str(status.average) if counted else None,
        count=status.review_count if counted else 0,
        as_of=as_of(status.status_as_of if status else timezone.localdate()),
        reviews=[
            {
                "rating": review.rating,
                "comment": shorten(review.comment, COMMENT_CHARACTERS),
                "date": as_of(review.submitted_at.astimezone(zone).date()),
            }
            for review in reviews
        ],
    )
    return data


def not_available_data(*, shop: Shop, language: str = "", product_id: str = "") -> dict:
    """The same for every shop that is switched off: no name, no numbers (R30, R31)."""
    data = _base(shop, product_id=product_id, language=language)
    data["available"] = False
    return data


@cache
def _constant_members() -> str:
    """The stylesheet and the strings of every language, as JSON members: the same for every
    shop, so serialised once per process."""
    return f',"css":{json_for_script(css())},"strings":{json_for_script(strings_by_language())}'


def script(data: dict) -> str:
    """``widget.js``: the code applied to ``data`` plus the constant members, as one JSON object
    (``data``'s keys sorted, then ``css`` and ``strings``)."""
    return f"{code()}({json_for_script(data)[:-1]}{_constant_members()}}});\n"
