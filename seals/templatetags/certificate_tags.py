"""The repeated parts of the certificate page, rendered in Python (R14, R22, R27).

The page lists ten reviews, five star rows and the shop's products on every request that no cache
answers; a template loop resolving the same labels, dates and URLs for each of them cost more CPU
than the rest of the page. These tags write the same HTML the template loops did: every value
from a review, a product or a shop is escaped here, labels are translated once per language and
process, and the report link is reversed once per page.
"""

from __future__ import annotations

import functools
import uuid
from html import escape
from urllib.parse import quote

from django import template
from django.template.defaultfilters import capfirst, linebreaksbr
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone, translation
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext

from reviews.models import Rating
from seals.templatetags.seal_tags import bar, stars

register = template.Library()


def _html(text: str) -> SafeString:
    """Markup built here, in which every value was escaped where it was formatted (IN-5)."""
    return SafeString(text)  # nosec B703 B308


# Stands for a review's reference while the report link is reversed once per page; a valid
# value for the route's converter, replaced by each review's own reference.
_REFERENCE = str(uuid.UUID(int=0))


@functools.cache
def _labels(language: str) -> dict[str, str]:
    """The page's fixed labels in ``language``, escaped (``{% translate %}`` escapes them)."""
    del language  # the cache key: gettext reads the active language
    return {
        key: escape(gettext(text))
        for key, text in {
            "verified": "Verified order",
            "unverified": "Review not based on a verified order",
            "photo": "Photo from the reviewer",
            "verified_buyer": "Verified buyer",
            "visitor": "Visitor",
            "edited": "edited",
            "report": "Report this review",
            "no_match": "No published reviews match these filters.",
            "none_yet": "No published reviews yet.",
        }.items()
    }


@functools.cache
def _review_head(language: str, rating: int, transaction_based: bool) -> str:
    """Stars, the rating's word and the verified badge: the same for every review alike."""
    word = str(Rating(rating).label)
    label = gettext("%(value)s out of 5 stars: %(word)s") % {"value": rating, "word": escape(word)}
    labels = _labels(language)
    badge = (
        f'<span class="cert-badge cert-verified">{labels["verified"]}</span>'
        if transaction_based
        else f'<span class="cert-badge cert-unverified">{labels["unverified"]}</span>'
    )
    return (
        f"\n        \n        {stars(rating, _html(label))}\n"
        f'        <strong class="cert-rating-word">{escape(capfirst(word))}</strong>\n'
        f"        \n          {badge}\n        \n"
    )


@functools.cache
def _star_count(language: str, count: int) -> str:
    del language  # the cache key: ngettext reads the active language
    return ngettext("%(counter)s star", "%(counter)s stars", count) % {"counter": count}


def _report_link(slug: str):
    """A function giving a review's report URL, or None while the moderation views are absent."""
    try:
        template_url = reverse("moderation:report-review", args=[slug, _REFERENCE])
    except NoReverseMatch:
        return None
    prefix, _found, suffix = template_url.rpartition(_REFERENCE)

    def link(review) -> str:
        if review.public_id:
            return f"{prefix}{review.public_id}{suffix}"
        try:
            return reverse("moderation:report-review", args=[slug, review.pk])
        except NoReverseMatch:
            return ""

    return link


def _photos(review, labels: dict[str, str]) -> str:
    if not review.photos:
        return ""
    items = []
    for photo in review.photos:
        size = f' width="{photo.width}" height="{photo.height}"' if photo.width else ""
        items.append(
            f'<li><img src="{escape(photo.file.url)}" alt="{labels["photo"]}" loading="lazy"'
            f"{size}></li>"
        )
    return f'<ul class="cert-photos">{"".join(items)}</ul>'


def _footer(review, labels: dict[str, str], report_link) -> str:
    if review.display_name:
        name = escape(review.display_name)
    else:
        name = labels["verified_buyer"] if review.is_transaction_based else labels["visitor"]
    local = timezone.localtime(review.submitted_at)
    edited = f"· {labels['edited']}" if review.version > 1 else ""
    url = report_link(review) if report_link else ""
    report = f'· <a href="{escape(url)}" rel="nofollow">{labels["report"]}</a>' if url else ""
    return (
        f'\n      <footer class="meta">\n        <span>{name}</span>\n'
        f'        · <time datetime="{local.isoformat()}">{local.strftime("%d/%m/%Y")}</time>\n'
        f"        {edited}\n        {report}\n      </footer>\n      "
    )


def _reply(review, reply_from: str) -> str:
    reply = review.company_comment
    if not reply or reply.status != "published":
        return ""
    return (
        f'\n      <aside class="cert-reply" aria-label="{reply_from}">\n'
        f'        <p class="cert-reply-by">{reply_from}</p>\n'
        f"        <p>{linebreaksbr(reply.text, autoescape=True)}</p>\n      </aside>\n      "
    )


def _review(review, *, language: str, labels: dict, report_link, reply_from: str) -> str:
    product = (
        '<p class="cert-review-product">'
        + gettext("Product: %(product)s") % {"product": escape(review.product.name)}
        + "</p>"
        if review.product
        else ""
    )
    comment = (
        f'<p class="comment">{linebreaksbr(review.comment, autoescape=True)}</p>'
        if review.comment
        else ""
    )
    return (
        f'\n    <article class="review cert-review" id="review-{review.pk}">\n'
        f'      <header class="cert-review-head">'
        f"{_review_head(language, review.rating, review.is_transaction_based)}"
        f"      </header>\n      {product}\n      {comment}\n      {_photos(review, labels)}"
        f"{_footer(review, labels, report_link)}{_reply(review, reply_from)}\n    </article>\n  "
    )


@register.simple_tag
def review_list(reviews, shop, filters) -> SafeString:
    """The page's reviews, newest first, or why there are none."""
    language = translation.get_language()
    labels = _labels(language)
    if not reviews:
        key = "no_match" if filters.stars or filters.with_comment else "none_yet"
        return _html(f'\n    <p class="cert-empty">{labels[key]}</p>\n  ')
    report_link = _report_link(shop.slug)
    reply_from = gettext("Reply from %(shop)s") % {"shop": escape(shop.name)}
    return _html(
        "".join(
            _review(
                review,
                language=language,
                labels=labels,
                report_link=report_link,
                reply_from=reply_from,
            )
            for review in reviews
        )
    )


@register.simple_tag
def distribution_table(distribution) -> SafeString:
    """The 5-to-1 star rows of the distribution table (R27)."""
    language = translation.get_language()
    return _html(
        "".join(
            f'\n        <tr>\n          <th scope="row">{_star_count(language, row["stars"])}</th>'
            f'\n          <td class="cert-bar-cell">{bar(row["percent"])}</td>'
            f'\n          <td class="cert-num">{row["count"]}</td>\n        </tr>\n      '
            for row in distribution
        )
    )


@register.simple_tag
def star_options(distribution, selected) -> SafeString:
    """The "Stars" filter's options, the visitor's choice selected."""
    language = translation.get_language()
    return _html(
        "".join(
            f'<option value="{row["stars"]}"{" selected" if selected == row["stars"] else ""}>'
            f"{_star_count(language, row['stars'])}</option>"
            for row in distribution
        )
    )


@register.simple_tag
def product_options(products, selected) -> SafeString:
    """The "Reviews of" filter's products, the visitor's choice selected."""
    options = []
    for item in products:
        product = item.product
        chosen = " selected" if selected == product.product_id else ""
        options.append(
            f'<option value="{escape(product.product_id)}"{chosen}>{escape(product.name)}</option>'
        )
    return _html("".join(options))


@register.simple_tag
def product_list(products, language: str) -> SafeString:
    """The products with their averages, each a link to its reviews."""
    items = []
    for item in products:
        product = item.product
        average = formats.localize(item.average)
        label = gettext("%(value)s out of 5 stars") % {"value": escape(average)}
        href = f"?lang={escape(language)}&amp;product={escape(quote(product.product_id, safe='/'))}"
        row = stars(item.average, _html(label), "sm")
        items.append(
            f'\n      <li>\n        <a href="{href}">{escape(product.name)}</a>\n'
            f'        <span class="cert-product-line">{row}'
            f" <strong>{escape(average)}</strong> ({item.review_count})</span>\n      </li>\n      "
        )
    return _html("".join(items))
