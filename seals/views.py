"""Public pages of a shop: the certificate page (R27)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from companies.selectors import shop_by_slug
from seals import selectors


def certificate(request, slug: str):
    shop = shop_by_slug(slug)
    if shop is None:
        raise Http404("No such shop.")
    context = {
        "shop": shop,
        "seal": selectors.seal_status_for(shop=shop),
        "reviews": selectors.review_list_published(shop=shop),
    }
    return render(request, "public/certificate.html", context)
