"""The widget: /c/<slug>/widget.js and its iframe page /c/<slug>/widget/ (R28, R14, AU-8)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from companies.models import SealState, Shop
from reviews.models import Review
from seals.services import seal_recompute
from tests import factories
from tests.seals.conftest import HOSTILE, announce, make_reviews, widget_data

pytestmark = pytest.mark.django_db


def _script(client, shop, query: str = "", **headers):
    return client.get(f"/c/{shop.slug}/widget.js{query}", **headers)


def test_it_serves_a_cacheable_script_any_site_may_load(client, gold_shop):
    """AU-8: CORS without credentials, no cookie, public caching, JavaScript content type."""
    response = _script(client, gold_shop, HTTP_ORIGIN="http://127.0.0.1:9999")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["ETag"]
    assert not response.cookies
    assert "Set-Cookie" not in response


def test_it_carries_the_seal_the_average_and_random_counted_ratings(client, shop):
    """R28, R14: seal, current average and counted reviews with text; nothing else."""
    make_reviews(shop, [5] * 48 + [4, 4], comment="Counted and kind.")
    make_reviews(shop, [1], comment="No order behind me.", is_transaction_based=False)
    make_reviews(shop, [2], comment="Held back.", status=Review.Status.HELD)
    make_reviews(shop, [3], comment="")
    seal_recompute(shop_id=shop.pk)
    data = widget_data(_script(client, shop))
    assert data["available"] is True
    assert (data["tier"], data["average"], data["count"]) == ("gold", "4.9", 51)
    assert data["shop"] == "ACME-A Shop"
    assert data["url"].endswith(f"/c/{shop.slug}/")
    assert 1 <= len(data["reviews"]) <= 10
    assert {review["comment"] for review in data["reviews"]} == {"Counted and kind."}
    assert set(data["reviews"][0]) == {"rating", "comment", "date"}
    assert data["strings"]["de"]["status_as_of"] == "Stand: {date}"
    assert data["strings"]["en"]["tier_gold"] == "Gold seal"


def test_it_samples_only_reviews_of_the_last_twelve_months(client, shop):
    """R24, R28: the rating shown is one of those behind the average, never an older one."""
    make_reviews(shop, [5] * 3, comment="Recent and counted.")
    make_reviews(shop, [1] * 30, days_ago=400, comment="Older than the window.")
    seal_recompute(shop_id=shop.pk)
    data = widget_data(_script(client, shop))
    assert {review["comment"] for review in data["reviews"]} == {"Recent and counted."}
    assert len(data["reviews"]) == 3


def test_it_shows_a_products_stars_by_product_id(client, gold_shop):
    """The product variant: that product's average and reviews, no shop seal."""
    tent = factories.ProductFactory(shop=gold_shop, name="Dome Tent", product_id="TENT 2/x")
    make_reviews(gold_shop, [4, 3], kind=Review.Kind.PRODUCT, product=tent, comment="Stays dry.")
    seal_recompute(shop_id=gold_shop.pk)
    data = widget_data(_script(client, gold_shop, "?product_id=TENT%202/x"))
    assert (data["product"], data["tier"], data["average"], data["count"]) == (
        "Dome Tent",
        None,
        "3.5",
        2,
    )
    assert {review["comment"] for review in data["reviews"]} == {"Stays dry."}
    unknown = widget_data(_script(client, gold_shop, "?product_id=NOPE"))
    assert (unknown["product"], unknown["average"], unknown["reviews"]) == (None, None, [])


def test_it_keeps_hostile_text_as_json_data(client, shop):
    """AU-8, IN-5: review and shop text cannot end the data or the script."""
    Shop.objects.for_company(shop.company).filter(pk=shop.pk).update(name=HOSTILE[0])
    for text in HOSTILE:
        make_reviews(shop, [5], comment=text)
    seal_recompute(shop_id=shop.pk)
    response = _script(client, shop)
    body = response.content.decode()
    data_part = body[body.rindex("})(") + 2 :]
    assert "<" not in data_part and ">" not in data_part
    assert '"};alert(1);//' not in body.replace('\\"};alert(1);//', "")
    data = widget_data(response)
    assert data["shop"] == HOSTILE[0]
    assert {review["comment"] for review in data["reviews"]} == set(HOSTILE)
    assert "innerHTML" not in body and "insertAdjacentHTML" not in body


def test_it_costs_one_query_when_cached(client, gold_shop):
    """LO-2: the shop lookup (enforcement flags) and a cache hit; two queries to render."""
    with CaptureQueriesContext(connection) as rendered:
        _script(client, gold_shop)
    # 1 shop by slug with its company and its merchant seal · 2 the random sample of reviews.
    assert len(rendered) == 2
    with CaptureQueriesContext(connection) as cached:
        _script(client, gold_shop)
    assert len(cached) == 1  # the shop by slug


def test_it_costs_three_queries_to_render_a_products_stars(client, gold_shop):
    """STYLE 10, R28: the product variant adds one query, whatever the product's reviews."""
    tent = factories.ProductFactory(shop=gold_shop, product_id="TENT-2")
    make_reviews(gold_shop, [4] * 12, kind=Review.Kind.PRODUCT, product=tent, comment="Dry.")
    seal_recompute(shop_id=gold_shop.pk)
    with CaptureQueriesContext(connection) as rendered:
        data = widget_data(_script(client, gold_shop, "?product_id=TENT-2"))
    # 1 shop by slug with its company and its merchant seal · 2 the product with its seal
    # status · 3 the random sample of the product's reviews.
    assert len(rendered) == 3
    assert (data["average"], data["count"], len(data["reviews"])) == ("4.0", 12, 10)


def test_it_answers_304_to_the_same_etag(client, gold_shop, eager_tasks):
    """R26: the same bytes keep their ETag across a bump; once the queued recompute (run here
    eagerly) moves the average, the old ETag gets the new body."""
    etag = _script(client, gold_shop)["ETag"]
    again = _script(client, gold_shop, HTTP_IF_NONE_MATCH=f'W/{etag}, "other"')
    assert again.status_code == 304
    assert again["ETag"] == etag
    assert again["Access-Control-Allow-Origin"] == "*"
    announce(gold_shop)  # new version, same bytes: still the same ETag
    assert _script(client, gold_shop, HTTP_IF_NONE_MATCH=etag).status_code == 304
    make_reviews(gold_shop, [1])
    announce(gold_shop)  # 251/51: the average changed
    changed = _script(client, gold_shop, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert widget_data(changed)["average"] == "4.9"


def test_it_renders_a_neutral_link_when_switched_off(client, gold_shop):
    """R30, R31: a harmless script with nothing about the shop, effective at once."""
    _script(client, gold_shop)
    Shop.objects.for_company(gold_shop.company).filter(pk=gold_shop.pk).update(
        public_pages_disabled=True
    )
    response = _script(client, gold_shop)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-cache"
    data = widget_data(response)
    assert data["available"] is False
    assert not {"shop", "tier", "average", "reviews", "count"} & set(data)
    assert "ACME" not in response.content.decode()


def test_it_drops_the_tier_of_a_withdrawn_seal(client, gold_shop):
    Shop.objects.for_company(gold_shop.company).filter(pk=gold_shop.pk).update(
        seal_state=SealState.WITHDRAWN
    )
    data = widget_data(_script(client, gold_shop))
    assert data["tier"] is None
    assert data["average"] == "5.0"


def test_it_serves_the_widget_as_a_page_other_sites_may_frame(client, gold_shop):
    """Only /widget/ is frameable; the certificate page and the backend stay DENY."""
    frame = client.get(f"/c/{gold_shop.slug}/widget/?lang=de")
    assert frame.status_code == 200
    assert "X-Frame-Options" not in frame
    policy = frame["Content-Security-Policy"]
    assert "frame-ancestors *" in policy
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    body = frame.content.decode()
    assert f'<script src="/c/{gold_shop.slug}/widget.js"></script>' in body
    assert 'data-lang="de"' in body and '<html lang="de">' in body
    assert "Kundenbewertungen von ACME-A Shop" in body  # the plain link without JavaScript
    page = client.get(f"/c/{gold_shop.slug}/")
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
