"""What the certificate page shows (R27, R29): assembled from selectors in a fixed number of
queries, plus the schema.org JSON-LD and the "how reviews are collected" facts from the shop's
real settings (Omnibus directive: publishers say how they check reviews)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from companies.models import Shop
from reviews.models import Review
from seals import selectors
from seals.models import SealStatus
from seals.text import json_for_script
from seals.widget import as_of, certificate_url


def duration_text(value: datetime.timedelta | None) -> str:
    """A median delay in words a visitor understands."""
    if value is None:
        return _("no reviews")
    seconds = int(value.total_seconds())
    if seconds < 60:
        return _("under a minute")
    if seconds < 3600:
        minutes = seconds // 60
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    if seconds < 2 * 86400:
        hours = seconds // 3600
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    days = seconds // 86400
    return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


@dataclass(frozen=True)
class Fact:
    title: str
    text: str


def _who(shop: Shop) -> Fact:
    if not shop.has_selection_group:
        text = _(
            "Every order the shop passes to us is invited; the shop cannot pick which "
            "customers may rate."
        )
    else:  # R8: a defined selection group, approved by staff, is published here
        text = _(
            "Only orders in a selection group approved by us on %(date)s are invited: %(criteria)s"
        ) % {
            "date": as_of(shop.selection_group_approved_at.date()),
            "criteria": shop.selection_group_criteria,
        }
    return Fact(_("Who is invited"), text)


def _when(shop: Shop) -> Fact:
    """R7: delay from the order or delivery date, and the reminders."""
    basis = (
        _("the delivery date (or the order date if there is none)")
        if shop.delay_basis == Shop.DelayBasis.DELIVERY
        else _("the order date")
    )
    invite = ngettext(
        "%(days)d day after %(basis)s the customer receives an email with a personal rating link.",
        "%(days)d days after %(basis)s the customer receives an email with a personal rating link.",
        shop.invitation_delay_days,
    ) % {"days": shop.invitation_delay_days, "basis": basis}
    if not shop.reminder_count:
        return Fact(_("When"), f"{invite} {_('No reminders are sent.')}")
    reminders = ngettext(
        "If the customer has not rated yet, %(count)d reminder follows after %(days)d days.",
        "If the customer has not rated yet, up to %(count)d reminders follow, every %(days)d days.",
        shop.reminder_count,
    ) % {"count": shop.reminder_count, "days": shop.reminder_interval_days}
    return Fact(_("When"), f"{invite} {reminders}")


def _link_validity() -> Fact:
    """R9, R15: six months, one order, editable while valid."""
    months = settings.INVITATION_LINK_VALIDITY_MONTHS
    text = ngettext(
        "Each link works for %(months)d month and belongs to one order. The customer "
        "may change or delete their review while the link is valid.",
        "Each link works for %(months)d months and belongs to one order. The customer "
        "may change or delete their review while the link is valid.",
        months,
    ) % {"months": months}
    return Fact(_("Link validity"), text)


def _rules() -> list[Fact]:
    """R17-R19 and R24-R25: the same for every shop."""
    checks = _(
        "Every review is checked against our review conditions, whatever its star "
        "rating. If nothing indicates a violation it is published at once. "
        "Inadmissible passages are replaced by *** and the stars stay. A review is "
        "removed only for a recorded reason: a court order, a cease-and-desist "
        "declaration, manipulation, illegal content, or a justified decision of our staff."
    )
    average = _(
        "The average counts the published reviews from verified orders submitted in the "
        "last 12 months; deleted reviews do not count. The seal needs at least 50 such "
        "reviews: bronze from 4.0, silver from 4.4, gold from 4.8 stars."
    )
    return [Fact(_("Checks"), checks), Fact(_("Average and seal"), average)]


def collection_facts(shop: Shop) -> list[Fact]:
    """How this shop's reviews are collected and checked, from its settings (R7-R9, R17-R19)."""
    facts = [_who(shop), _when(shop), _link_validity(), *_rules()]
    if shop.non_transaction_reviews_enabled:  # R14
        text = _(
            "Visitors may also review the shop here after confirming their email "
            "address. Such reviews are labelled “review not based on a verified order” and "
            "never count towards the average or the seal."
        )
        facts.append(Fact(_("Reviews without an order"), text))
    if shop.ratings_stopped:  # R30
        facts.append(Fact(_("Currently"), _("New ratings are not being collected at the moment.")))
    return facts


def _author(review: selectors.PublicReview) -> str:
    return review.display_name or _("Verified buyer")


def jsonld(*, shop: Shop, seal: SealStatus | None, reviews) -> str:
    """schema.org Organization with its AggregateRating and the counted reviews on the page."""
    url = certificate_url(shop)
    data: dict = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": shop.name,
        "url": shop.website or url,
    }
    if shop.logo:
        data["logo"] = settings.SITE_URL + shop.logo.url
    if seal is not None and seal.review_count:
        data["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": str(seal.average),
            "bestRating": "5",
            "worstRating": "1",
            "ratingCount": seal.review_count,
            "reviewCount": seal.review_count,
        }
    items = [
        {
            "@type": "Review",
            "author": {"@type": "Person", "name": _author(review)},
            "datePublished": review.submitted_at.date().isoformat(),
            "reviewBody": review.comment,
            "url": f"{url}#review-{review.pk}",
            "reviewRating": {
                "@type": "Rating",
                "ratingValue": review.rating,
                "bestRating": 5,
                "worstRating": 1,
            },
        }
        for review in reviews
        if review.kind == Review.Kind.MERCHANT and review.is_transaction_based
    ]
    if items:
        data["review"] = items
    return json_for_script(data)


def distribution_rows(distribution: list[tuple[int, int]]) -> list[dict]:
    total = sum(count for _stars, count in distribution)
    return [
        {"stars": stars, "count": count, "percent": (100 * count // total) if total else 0}
        for stars, count in distribution
    ]


def transparency_rows(numbers: selectors.Transparency) -> dict:
    bands = {"1-2": _("1–2 stars"), "3": _("3 stars"), "4-5": _("4–5 stars")}
    removed = {
        "unpublished": _("Unpublished after a check"),
        "deleted": _("Deleted (by the reviewer, or by us for a recorded reason)"),
    }
    return {
        "numbers": numbers,
        "share": numbers.published_share,
        "removed": [(removed[key], count) for key, count in numbers.removed.items()],
        "delays": [
            (label, duration_text(numbers.median_delay.get(key))) for key, label in bands.items()
        ],
    }


def certificate_context(
    *, shop: Shop, seal: SealStatus | None, filters: selectors.ReviewFilter, page_number
) -> dict:
    """Everything the page shows, ``seal`` being the merchant status read with the shop.

    Three queries whatever the page size, a fourth only when a review on the page has a photo.
    """
    products = selectors.product_seals(shop=shop)  # the products' averages
    numbers = selectors.review_numbers(shop=shop, filters=filters)  # counts, distribution, medians
    page = selectors.review_page(  # the page of reviews (+ their photos, if any)
        shop=shop, filters=filters, number=page_number, count=numbers.listed
    )
    reviews = list(page.object_list)
    seals = selectors.ShopSeals(merchant=seal, products=products)
    selected = seals.for_product(filters.product_id) if filters.product_id else None
    return {
        "shop": shop,
        "seal": seal,
        "status_date": seal.status_as_of if seal else timezone.localdate(),
        "LANGUAGE_CODE": translation.get_language(),
        "show_tier": selectors.shows_tier(shop),
        "products": products,
        "selected_product": selected,
        "distribution": distribution_rows(numbers.distribution),
        "transparency": transparency_rows(numbers.transparency),
        "facts": collection_facts(shop),
        "filters": filters,
        "page": page,
        "reviews": reviews,
        "jsonld": jsonld(shop=shop, seal=seal, reviews=reviews),
        "widget_url": reverse("seals:widget-frame", args=[shop.slug]),
    }
