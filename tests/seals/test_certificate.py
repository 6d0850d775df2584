"""The certificate page /c/<slug>/ (R27, R29, R14, R17, R30, R31): what a visitor sees, the
schema.org markup search engines read, and what the page costs."""

from __future__ import annotations

import datetime
import json
import re
from html import unescape
from types import ModuleType

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone

from companies.models import Company, SealState, Shop
from reviews.models import Review
from reviews.services_comments import company_comment_set
from seals import selectors
from seals.selectors import certificate as certificate_selectors
from seals.services import seal_recompute
from tests import factories
from tests.seals.conftest import HOSTILE, announce, make_reviews

pytestmark = pytest.mark.django_db

# A 1x1 transparent PNG: the shop's logo.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _page(client, shop, query: str = "", **headers):
    return client.get(f"/c/{shop.slug}/{query}", **headers)


def _text(response) -> str:
    """The visible text of a page, tags removed, whitespace collapsed."""
    body = response.content.decode()
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _jsonld(response) -> dict:
    found = re.findall(
        r'<script type="application/ld\+json">(.*?)</script>', response.content.decode(), re.S
    )
    assert len(found) == 1
    return json.loads(found[0])


def test_it_shows_name_logo_seal_average_count_and_date(client, gold_shop):
    """R27, R26: who the shop is, its seal and average, and the date of the status."""
    gold_shop.logo = SimpleUploadedFile("logo.png", PNG, content_type="image/png")
    gold_shop.save()
    response = _page(client, gold_shop, "?lang=en")
    assert response.status_code == 200
    text = _text(response)
    assert "ACME-A Shop" in text
    assert re.search(r'<img src="/media/logos/[^"]+" alt="Logo of ACME-A Shop"', response.text)
    assert "Gold seal" in text
    assert "5.0 / 5" in text
    assert "50 reviews in the last 12 months" in text
    today = timezone.localdate().strftime("%d/%m/%Y")
    assert f"Status as of {today}" in text
    assert 'aria-label="5.0 out of 5 stars"' in response.text


def test_it_shows_the_distribution_of_the_counted_reviews(client, shop):
    """R27: the 5-to-1 distribution over the same reviews as the average."""
    make_reviews(shop, [5, 5, 5, 4, 1])
    make_reviews(shop, [1, 1], is_transaction_based=False)  # R14: never counted
    make_reviews(shop, [2], status=Review.Status.HELD)
    seal_recompute(shop_id=shop.pk)
    text = _text(_page(client, shop))
    distribution = re.search(
        r"5 stars (\d+) 4 stars (\d+) 3 stars (\d+) 2 stars (\d+) 1 star (\d+)", text
    )
    assert distribution.groups() == ("3", "1", "0", "0", "1")
    assert "4.0 / 5" in text


def test_it_lists_published_reviews_newest_first_with_labels(client, shop):
    """R14: non-transaction reviews are shown and labelled; held and deleted ones are not."""
    make_reviews(shop, [4], days_ago=3, comment="Older and verified.", display_name="Kim")
    make_reviews(shop, [2], days_ago=1, comment="Newer, no order.", is_transaction_based=False)
    make_reviews(shop, [1], comment="Still being checked.", status=Review.Status.HELD)
    make_reviews(shop, [1], comment="", status=Review.Status.DELETED)
    text = _text(_page(client, shop))
    assert text.index("Newer, no order.") < text.index("Older and verified.")
    assert "Review not based on a verified order" in text.split("Newer, no order.")[0]
    assert "Verified order Older and verified. Kim" in text
    assert "Still being checked." not in text
    assert "1–2 of 2 published reviews" in text


def test_it_filters_by_stars_comment_and_product(client, shop):
    """R27: filter by stars, "with comment" and product; products have their own reviews."""
    make_reviews(shop, [5], comment="Five with words.")
    make_reviews(shop, [5], comment="")
    make_reviews(shop, [3], comment="Three with words.")
    tent = factories.ProductFactory(shop=shop, name="Dome Tent", product_id="TENT-2")
    make_reviews(shop, [4], kind=Review.Kind.PRODUCT, product=tent, comment="Tent is dry.")
    seal_recompute(shop_id=shop.pk)

    five = _text(_page(client, shop, "?stars=5"))
    assert "Five with words." in five and "Three with words." not in five
    assert "1–2 of 2" in five
    worded = _text(_page(client, shop, "?stars=5&with_comment=1"))
    assert "1–1 of 1" in worded
    product = _text(_page(client, shop, "?product=TENT-2"))
    assert "Reviews of Dome Tent" in product
    assert "Tent is dry." in product and "Five with words." not in product
    assert "Product: Dome Tent" in product
    shop_page = _page(client, shop)
    assert "Tent is dry." not in _text(shop_page)
    assert 'href="?lang=en&amp;product=TENT-2">Dome Tent</a>' in shop_page.text


def test_it_paginates_newest_first(client, shop, monkeypatch):
    monkeypatch.setattr(certificate_selectors, "REVIEWS_PER_PAGE", 2)
    for day, word in enumerate(["first", "second", "third"], start=1):
        make_reviews(shop, [5], days_ago=day, comment=f"The {word} newest.")
    page_one, page_two = _text(_page(client, shop)), _text(_page(client, shop, "?page=2"))
    assert "The first newest." in page_one and "The third newest." not in page_one
    assert "The third newest." in page_two and "Page 2 of 2" in page_two


def test_it_says_how_reviews_are_collected_from_the_shops_settings(client, shop, owner):
    """R8, R9, R7 and the Omnibus directive: the section follows the real settings."""
    Shop.objects.for_company(shop.company).filter(pk=shop.pk).update(
        invitation_delay_days=10,
        delay_basis=Shop.DelayBasis.DELIVERY,
        reminder_count=2,
        reminder_interval_days=5,
        selection_group_criteria="Orders above 20 EUR shipped within Germany.",
        selection_group_approved_at=timezone.now(),
        non_transaction_reviews_enabled=True,
    )
    text = _text(_page(client, shop))
    section = text.split("How these reviews are collected and checked", 1)[1]
    assert "10 days after the delivery date" in section
    assert "up to 2 reminders follow, every 5 days" in section
    assert "Each link works for 6 months" in section
    assert "Orders above 20 EUR shipped within Germany." in section
    assert "whatever its star rating" in section
    assert "never count towards the average" in section
    # R14: the shop accepts reviews without an order, so the page says where to write one.
    assert f'<a href="/r/write/{shop.slug}/">Write a review</a>' in _page(client, shop).text


def test_it_publishes_transparency_numbers_for_twelve_months(client, shop):
    """Share published, removals by reason, median time to publication per band (R17)."""
    hour = datetime.timedelta(hours=1)
    make_reviews(shop, [1, 2], publish_delay=2 * hour)
    make_reviews(shop, [3], publish_delay=datetime.timedelta(seconds=20))
    make_reviews(shop, [5, 4, 5], publish_delay=3 * datetime.timedelta(days=1))
    make_reviews(shop, [5], status=Review.Status.UNPUBLISHED)
    make_reviews(shop, [1], status=Review.Status.DELETED)
    make_reviews(shop, [4], days_ago=400)  # outside the 12 months
    text = _text(_page(client, shop))
    numbers = text.split("Transparency: the last 12 months", 1)[1]
    assert "Submitted reviews 8 Published 6 (75 %)" in numbers
    assert "Unpublished after a check 1" in numbers
    assert "Deleted (by the reviewer, or by us for a recorded reason) 1" in numbers
    assert "1–2 stars 2 hours 3 stars under a minute 4–5 stars 3 days" in numbers


def test_it_describes_the_shop_in_valid_schema_org_json_ld(client, gold_shop):
    """R29: Organization with AggregateRating and the counted reviews on the page."""
    make_reviews(gold_shop, [1], is_transaction_based=False, comment="Not from an order.")
    data = _jsonld(_page(client, gold_shop))
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Organization"
    assert data["name"] == "ACME-A Shop"
    assert data["aggregateRating"] == {
        "@type": "AggregateRating",
        "ratingValue": "5.0",
        "bestRating": "5",
        "worstRating": "1",
        "ratingCount": 50,
        "reviewCount": 50,
    }
    reviews = data["review"]
    assert len(reviews) == 9  # the page's ten reviews minus the one without an order
    first = reviews[0]
    assert first["@type"] == "Review"
    assert first["reviewRating"] == {
        "@type": "Rating",
        "ratingValue": 5,
        "bestRating": 5,
        "worstRating": 1,
    }
    assert first["author"] == {"@type": "Person", "name": "Verified buyer"}
    assert first["reviewBody"] == "Quick delivery, well packed."
    datetime.date.fromisoformat(first["datePublished"])
    assert first["url"].endswith(f"/c/{gold_shop.slug}/#review-{first['url'].rsplit('-', 1)[1]}")
    assert all(item["reviewBody"] != "Not from an order." for item in reviews)


def test_it_escapes_hostile_review_text_in_html_and_json_ld(client, shop):
    """IN-5, AU-8: review text is text on the page and data in the JSON-LD."""
    for text in (*HOSTILE, '<img src=x onerror="alert(1)">'):
        make_reviews(shop, [5], comment=text, display_name=text[:60])
    response = _page(client, shop)
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "<img src=x" not in body
    assert "&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in body
    jsonld = re.search(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)[1]
    assert "<" not in jsonld and ">" not in jsonld
    bodies = {item["reviewBody"] for item in _jsonld(response)["review"]}
    assert set(HOSTILE) <= bodies


def test_it_costs_the_same_queries_whatever_the_page_size(client, shop, monkeypatch):
    """STYLE 10: four queries rendered (a fifth for photos), one when cached, for 5 or 25
    reviews a page."""
    product = factories.ProductFactory(shop=shop)
    make_reviews(shop, [5, 4, 3] * 10)
    make_reviews(shop, [4] * 5, kind=Review.Kind.PRODUCT, product=product)
    seal_recompute(shop_id=shop.pk)
    counts = []
    for size in (5, 25):
        monkeypatch.setattr(certificate_selectors, "REVIEWS_PER_PAGE", size)
        announce(shop)  # a fresh render for each size
        with CaptureQueriesContext(connection) as rendered:
            assert _page(client, shop).status_code == 200
        counts.append(len(rendered))
    # 1 shop by slug with its company and its merchant seal · 2 the products' seals ·
    # 3 one aggregate: the list's count, the star distribution and the transparency numbers
    # (medians included) · 4 the page of reviews with product names and company replies.
    assert counts == [4, 4]
    with CaptureQueriesContext(connection) as cached:
        assert _page(client, shop).status_code == 200
    assert len(cached) == 1  # the shop by slug: its enforcement flags are read every time
    newest = _reviews_on_page(shop)[0]
    factories.ReviewMediaFactory(shop=shop, review=newest, status="published")
    announce(shop)
    with CaptureQueriesContext(connection) as with_photo:
        assert _page(client, shop).status_code == 200
    assert len(with_photo) == 5  # 5 the published photos of the reviews on the page


def _reviews_on_page(shop) -> list[Review]:
    return list(
        Review.objects.for_company(shop.company)
        .filter(shop=shop, kind=Review.Kind.MERCHANT)
        .order_by("-submitted_at", "-id")[: selectors.REVIEWS_PER_PAGE]
    )


def test_it_shows_published_photos_only(client, shop, other_shop):
    """R18, 004 §2.2: a review's published photos with their size; a photo still being checked,
    a rejected one or a video is not shown, nor another company's photo."""
    (review,) = make_reviews(shop, [5], comment="See the parcel.")
    shown = factories.ReviewMediaFactory(shop=shop, review=review, status="published")
    for status, kind in (("pending", "photo"), ("rejected", "photo"), ("published", "video")):
        factories.ReviewMediaFactory(shop=shop, review=review, status=status, kind=kind)
    factories.ReviewMediaFactory(shop=other_shop, status="published")
    body = _page(client, shop).text
    photos = re.findall(r'<img src="([^"]+)" alt="Photo from the reviewer"[^>]*>', body)
    assert photos == [shown.file.url]
    assert f'<img src="{shown.file.url}" alt="Photo from the reviewer" loading="lazy" ' in body
    assert 'width="40" height="30">' in body


def _stub(request, *args, **kwargs):
    raise AssertionError("not called")


def _urlconf(name: str, *patterns) -> ModuleType:
    module = ModuleType(name)
    # The admin too: the tenant middleware asks where it lives.
    module.urlpatterns = [
        path("admin/", admin.site.urls),
        path("c/", include("seals.urls")),
        *patterns,
    ]
    return module


WITHOUT_ENTRY_POINTS = _urlconf("without_entry_points")
WITH_ENTRY_POINTS = _urlconf(
    "with_entry_points",
    path("u/", include(([path("<slug:slug>/link/", _stub, name="link-request")], "invitations"))),
    path(
        "m/",
        include(
            ([path("report/<slug:slug>/<str:ref>/", _stub, name="report-review")], "moderation")
        ),
    ),
)


def test_it_offers_report_and_link_request_only_when_those_views_exist(client, shop, settings):
    """R10, R20: the entry points appear once the evaluator and moderation issues add them."""
    make_reviews(shop, [5], comment="Fine.")
    settings.ROOT_URLCONF = WITHOUT_ENTRY_POINTS
    announce(shop)
    text = _text(_page(client, shop))
    assert "Report this review" not in text
    assert "Bought here but got no invitation?" not in text
    settings.ROOT_URLCONF = WITH_ENTRY_POINTS
    announce(shop)  # a deploy that adds the views starts with fresh pages
    response = _page(client, shop)
    review = Review.objects.for_company(shop.company).get()
    reference = getattr(review, "public_id", review.pk)  # the moderation issue adds public_id
    assert f'href="/m/report/{shop.slug}/{reference}/"' in response.text
    assert f'href="/u/{shop.slug}/link/"' in response.text


def test_it_speaks_german_by_parameter_or_browser(client, gold_shop):
    """English and German: ``?lang=de`` or Accept-Language."""
    by_parameter = _page(client, gold_shop, "?lang=de")
    by_browser = _page(client, gold_shop, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    today = timezone.localdate().strftime("%d/%m/%Y")
    for response in (by_parameter, by_browser):
        text = _text(response)
        assert '<html lang="de">' in response.text
        assert "Gold-Siegel" in text
        assert f"Stand: {today}" in text
        assert "50 Bewertungen in den letzten 12 Monaten" in text
        assert "Wie diese Bewertungen gesammelt und geprüft werden" in text
    assert "Status as of" in _text(_page(client, gold_shop, HTTP_ACCEPT_LANGUAGE="en"))


def test_it_never_shows_another_companys_reviews(client, shop, other_shop):
    """R4: each certificate shows its own shop's reviews only."""
    make_reviews(shop, [5], comment="Review of ACME.")
    make_reviews(other_shop, [1], comment="Review of BETA.")
    mine, theirs = _text(_page(client, shop)), _text(_page(client, other_shop))
    assert "Review of ACME." in mine and "Review of BETA." not in mine
    assert "Review of BETA." in theirs and "Review of ACME." not in theirs


def test_it_shows_no_tier_for_a_withdrawn_or_suspended_seal(client, gold_shop):
    """R30: the average stays, the seal goes."""
    for state in (SealState.WITHDRAWN, SealState.SUSPENDED):
        gold_shop.seal_state = state
        gold_shop.save()
        text = _text(_page(client, gold_shop))
        assert "Gold seal" not in text
        assert "5.0 / 5" in text


@pytest.mark.parametrize("switch_off", ["pages_disabled", "contract_ended", "company_blocked"])
def test_it_answers_a_neutral_410_at_once_when_switched_off(client, gold_shop, switch_off):
    """R30, R31: no name, no numbers, no reviews, even right after a cached 200."""
    assert _page(client, gold_shop).status_code == 200  # now cached
    if switch_off == "pages_disabled":
        # A bare UPDATE (no save, no cache bump): the flag itself must take effect.
        Shop.objects.for_company(gold_shop.company).filter(pk=gold_shop.pk).update(
            public_pages_disabled=True
        )
    else:
        status = "ended" if switch_off == "contract_ended" else "blocked"
        Company.objects.filter(pk=gold_shop.company_id).update(status=status)
    response = _page(client, gold_shop)
    assert response.status_code == 410
    text = _text(response)
    assert "Reviews are not available" in text
    assert "ACME" not in response.text
    assert "Quick delivery" not in text
    assert "Gold" not in text


def test_it_answers_404_for_an_unknown_shop(client, db):
    assert client.get("/c/no-such-shop/").status_code == 404


def test_it_revalidates_with_etag_and_changes_after_moderation(client, shop):
    """304 with the same ETag; a moderated review gives new bytes at once."""
    (review,) = make_reviews(shop, [2], comment="Parcel lost.")
    first = _page(client, shop)
    etag = first["ETag"]
    assert first["Cache-Control"] == "public, max-age=60"
    again = _page(client, shop, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag
    Review.objects.for_company(shop.company).filter(pk=review.pk).update(
        status=Review.Status.UNPUBLISHED
    )
    announce(shop)
    changed = _page(client, shop, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert "Parcel lost." not in _text(changed)
    assert not changed.cookies


def test_it_labels_each_review_in_the_visitors_language(client, shop):
    """R27, R12: stars, rating word, badge and reply label of the review list follow ``?lang=``,
    whichever language the process rendered before."""
    (review,) = make_reviews(shop, [5], comment="Fine.")
    company_comment_set(review=review, text="Thanks!")
    for language, expected in (
        ("en", ('aria-label="5 out of 5 stars: very good"', "Very good", "Verified order")),
        ("de", ('aria-label="5 von 5 Sternen: sehr gut"', "Sehr gut", "Verifizierte Bestellung")),
        ("en", ('aria-label="5 out of 5 stars: very good"', "Very good", "Verified order")),
    ):
        body = _page(client, shop, f"?lang={language}").text
        label, word, badge = expected
        assert label in body
        assert f'<strong class="cert-rating-word">{word}</strong>' in body
        assert f'<span class="cert-badge cert-verified">{badge}</span>' in body
    assert "Antwort von ACME-A Shop" in _page(client, shop, "?lang=de").text


def test_it_escapes_hostile_shop_and_product_names_in_lists_and_filters(client, shop):
    """IN-5, AU-8: a shop's or product's name is text in the review list, the product filter
    and the product list, never markup."""
    hostile = '"><script>alert(1)</script>'
    Shop.objects.for_company(shop.company).filter(pk=shop.pk).update(name=hostile)
    tent = factories.ProductFactory(shop=shop, name=hostile, product_id='P"1&<x>')
    (review,) = make_reviews(shop, [4], kind=Review.Kind.PRODUCT, product=tent, comment="Dry.")
    make_reviews(shop, [5], comment="Line one\n<b>line two</b>")
    company_comment_set(review=review, text="<i>Thanks</i>")
    seal_recompute(shop_id=shop.pk)
    body = _page(client, shop, "?product=" + 'P"1%26<x>').text
    assert "<script>alert(1)</script>" not in body
    escaped = "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f'<option value="P&quot;1&amp;&lt;x&gt;" selected>{escaped}</option>' in body
    assert f'<a href="?lang=en&amp;product=P%221%26%3Cx%3E">{escaped}</a>' in body
    assert f"Product: {escaped}" in body
    assert f'aria-label="Reply from {escaped}"' in body
    assert "<p>&lt;i&gt;Thanks&lt;/i&gt;</p>" in body
    shop_page = _page(client, shop).text
    assert '<p class="comment">Line one<br>&lt;b&gt;line two&lt;/b&gt;</p>' in shop_page
