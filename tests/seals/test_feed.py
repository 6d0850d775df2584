"""The Google product-ratings feed /c/<slug>/feeds/product-ratings.xml (R29, 004 §9.4)."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from companies.models import Shop
from invitations.models import Invitation
from reviews.models import Review
from seals import feeds
from seals.models import SealStatus
from seals.services import seal_recompute
from tests import factories
from tests.seals.conftest import HOSTILE

pytestmark = pytest.mark.django_db


def _parse(body: bytes) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 (our own feed, parsed to check it)


def _feed(client, shop, **headers):
    return client.get(f"/c/{shop.slug}/feeds/product-ratings.xml", **headers)


def _product_review(shop, product, *, days_after_invitation=10, **fields) -> Review:
    invitation = factories.InvitationFactory(shop=shop)
    created = timezone.now() - datetime.timedelta(days=200)
    Invitation.objects.for_company(shop.company).filter(pk=invitation.pk).update(
        created_at=created, expires_at=created + datetime.timedelta(days=183)
    )
    submitted = created + datetime.timedelta(days=days_after_invitation)
    fields = {"rating": 4, "comment": "Warm and light.", **fields}
    return factories.ReviewFactory(
        shop=shop,
        kind=Review.Kind.PRODUCT,
        product=product,
        invitation=invitation,
        submitted_at=submitted,
        published_at=submitted,
        **fields,
    )


@pytest.fixture
def jacket(shop):
    return factories.ProductFactory(
        shop=shop,
        product_id="NK-DOWN-UL",
        name="Ultralight Down Jacket",
        brand="Nordkamm",
        gtin="4061234000354",
        mpn="NK-2231",
        sku="NK-DOWN-UL-M",
        link="https://shop.example.com/p/jacket",
    )


def test_it_lists_a_counted_product_review_element_by_element(client, shop, jacket):
    """Schema 2.3: each element Google reads, in order, with the values of the review."""
    review = _product_review(shop, jacket, display_name="Kim", rating=5)
    response = _feed(client, shop)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=300"
    feed = _parse(response.content)
    xsi = "{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation"
    assert feed.get(xsi) == feeds.SCHEMA_LOCATION
    assert feed.findtext("version") == "2.3"
    assert feed.findtext("publisher/name") == "ACME-A Shop"
    (item,) = feed.findall("reviews/review")
    assert [child.tag for child in item] == [
        "review_id",
        "reviewer",
        "is_verified_purchase",
        "is_incentivized_review",
        "review_timestamp",
        "content",
        "review_url",
        "ratings",
        "products",
        "is_spam",
        "collection_method",
    ]
    assert item.findtext("review_id") == str(review.pk)
    assert item.find("reviewer/name").text == "Kim"
    assert item.find("reviewer/name").get("is_anonymous") is None
    assert item.findtext("is_verified_purchase") == "true"
    assert item.findtext("is_incentivized_review") == "false"
    stamp = review.submitted_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert item.findtext("review_timestamp") == stamp
    assert item.findtext("content") == "Warm and light."
    url = item.find("review_url")
    assert url.get("type") == "group"
    assert url.text == (
        f"http://127.0.0.1:8000/c/{shop.slug}/?product=NK-DOWN-UL#review-{review.pk}"
    )
    overall = item.find("ratings/overall")
    assert (overall.text, overall.get("min"), overall.get("max")) == ("5", "1", "5")
    product = item.find("products/product")
    assert product.findtext("product_ids/gtins/gtin") == "4061234000354"
    assert product.findtext("product_ids/mpns/mpn") == "NK-2231"
    assert product.findtext("product_ids/skus/sku") == "NK-DOWN-UL-M"
    assert product.findtext("product_ids/brands/brand") == "Nordkamm"
    assert product.findtext("product_name") == "Ultralight Down Jacket"
    assert product.findtext("product_url") == "https://shop.example.com/p/jacket"
    assert item.findtext("is_spam") == "false"
    assert item.findtext("collection_method") == "post_fulfillment"


def test_it_names_anonymous_reviewers_as_such(client, shop, jacket):
    _product_review(shop, jacket)
    name = _parse(_feed(client, shop).content).find("reviews/review/reviewer/name")
    assert (name.text, name.get("is_anonymous")) == ("Anonymous", "true")


def test_it_lists_only_reviews_google_accepts(client, shop, jacket, other_shop):
    """Verified (invitation-based), published, product, with text, within 90 days."""
    inside = _product_review(shop, jacket, days_after_invitation=90, comment="Day ninety.")
    _product_review(shop, jacket, days_after_invitation=91, comment="Day ninety-one.")
    _product_review(shop, jacket, status=Review.Status.HELD, comment="Held.")
    _product_review(shop, jacket, comment="")
    factories.ReviewFactory(
        shop=shop,
        kind=Review.Kind.PRODUCT,
        product=jacket,
        invitation=None,
        is_transaction_based=False,
        comment="Without an order.",
    )
    factories.ReviewFactory(shop=shop, comment="About the shop.")
    outsider = factories.ProductFactory(shop=other_shop)
    _product_review(other_shop, outsider, comment="Another company.")
    feed = _parse(_feed(client, shop).content)
    assert [item.findtext("review_id") for item in feed.findall("reviews/review")] == [
        str(inside.pk)
    ]


def test_it_explains_every_reviews_decision(shop, jacket):
    """The reason each review is in or out, for staff (and later the company backend)."""
    _product_review(shop, jacket, days_after_invitation=91)
    _product_review(shop, jacket, days_after_invitation=30)
    factories.ReviewFactory(shop=shop)
    reasons = {d.reason for d in feeds.feed_decisions(feeds.shop_reviews(shop))}
    assert reasons == {"late", feeds.INCLUDED, "merchant"}
    late = next(d for d in feeds.feed_decisions(feeds.shop_reviews(shop)) if d.reason == "late")
    assert not late.included
    assert "more than 90 days after the invitation" in late.explanation


def test_it_shows_staff_the_decisions_in_the_admin(shop, jacket):
    """The admin view (behind the admin site's login and second factor) explains each review."""
    from django.contrib import admin
    from django.test import RequestFactory

    from companies.models import User

    _product_review(shop, jacket, days_after_invitation=120, comment="Too late.")
    seal_recompute(shop_id=shop.pk)
    status = SealStatus.objects.for_company(shop.company).get(shop=shop, product__isnull=True)
    model_admin = admin.site._registry[SealStatus]
    feed_url = reverse("admin:seals_sealstatus_feed", args=[status.pk])
    assert feed_url in model_admin.feed_eligibility(status)  # linked from the change page
    request = RequestFactory().get(feed_url)
    request.user = User.objects.create_superuser("staff@example.com", "a-long-password-42")
    request.user.is_verified = lambda: True  # what the second-factor middleware sets
    response = model_admin.feed_eligibility_view(request, str(status.pk))
    page = response.render().content.decode()
    assert "0 reviews are in the feed." in page
    assert "Out: submitted more than 90 days after the invitation" in page
    assert "Too late." not in page  # decisions, not texts


def test_it_keeps_hostile_text_well_formed(client, shop, jacket):
    """IN-5: markup, ``]]>`` and characters XML forbids cannot break the feed."""
    _product_review(shop, jacket, comment="".join(HOSTILE) + "\x01\x0b end")
    Shop.objects.for_company(shop.company).filter(pk=shop.pk).update(name="A & <B>")
    body = _feed(client, shop).content
    assert b"<script>" not in body and b"]]>" not in body
    feed = _parse(body)
    assert feed.findtext("reviews/review/content") == "".join(HOSTILE) + " end"
    assert feed.findtext("publisher/name") == "A & <B>"


def test_it_is_gone_when_switched_off_and_cheap_when_cached(client, shop, jacket):
    _product_review(shop, jacket)
    with CaptureQueriesContext(connection) as rendered:
        etag = _feed(client, shop)["ETag"]
    assert len(rendered) == 2  # 1 shop by slug · 2 product reviews with product and invitation
    with CaptureQueriesContext(connection) as cached:
        assert _feed(client, shop, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert len(cached) == 1  # the shop by slug
    Shop.objects.for_company(shop.company).filter(pk=shop.pk).update(public_pages_disabled=True)
    assert _feed(client, shop).status_code == 410
