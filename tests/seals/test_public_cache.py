"""Tenant-safe caches of the public surfaces (TESTPLAN TI-5, LO-2)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from companies.models import Shop
from reviews.models import Review
from seals import public_cache
from tests import factories
from tests.seals.conftest import announce, make_reviews

pytestmark = pytest.mark.django_db

SURFACES = ("", "widget.js", "seal.svg", "widget/", "feeds/product-ratings.xml")


@pytest.fixture
def twins(company, other_company, eager_tasks):
    """Two shops of two companies with the same slug prefix and the same kind of data."""
    shops = []
    for owner, slug in ((company, "acme"), (other_company, "acme-2")):
        shop = factories.ShopFactory(company=owner, name="Twin Shop", slug=slug)
        make_reviews(shop, [5, 4], comment="Same words in both shops.")
        announce(shop)
        shops.append(shop)
    return shops


def _bytes(client, shop) -> dict[str, tuple[str, bytes]]:
    responses = {s: client.get(f"/c/{shop.slug}/{s}", HTTP_ACCEPT_LANGUAGE="en") for s in SURFACES}
    assert {s: r.status_code for s, r in responses.items()} == dict.fromkeys(SURFACES, 200)
    return {s: (r["ETag"], r.content) for s, r in responses.items()}


def test_it_invalidates_only_the_moderated_shops_caches(client, twins):
    """TI-5(a): moderating one of A's reviews changes A's bytes; B's stay identical."""
    a, b = twins
    before_a, before_b = _bytes(client, a), _bytes(client, b)
    review = Review.objects.for_company(a.company).filter(shop=a, rating=4).get()
    Review.objects.for_company(a.company).filter(pk=review.pk).update(
        status=Review.Status.UNPUBLISHED
    )
    announce(a)
    after_a, after_b = _bytes(client, a), _bytes(client, b)
    assert after_b == before_b
    for surface in ("", "widget.js", "seal.svg"):
        assert after_a[surface][0] != before_a[surface][0], surface
    assert b"4.5" in before_a["seal.svg"][1] and b"5.0" in after_a["seal.svg"][1]


def test_it_keys_every_entry_by_shop_and_data_version(twins):
    """TI-5(c): same language, same variant, same-looking data: different keys."""
    a, b = twins
    key_a = public_cache.entry_key(a, surface="widget.js", variant="en|")
    key_b = public_cache.entry_key(b, surface="widget.js", variant="en|")
    assert key_a != key_b
    assert key_a.startswith(f"seals:public:{a.pk}:") and key_b.startswith(f"seals:public:{b.pk}:")
    public_cache.public_cache_bump(shop_id=a.pk)
    assert public_cache.entry_key(a, surface="widget.js", variant="en|") != key_a
    assert public_cache.entry_key(b, surface="widget.js", variant="en|") == key_b


def test_it_retires_every_shop_after_the_nightly_recompute(twins):
    a, b = twins
    keys = [public_cache.entry_key(shop, surface="seal.svg") for shop in twins]
    public_cache.public_cache_bump_all()
    assert [public_cache.entry_key(shop, surface="seal.svg") for shop in (a, b)] != keys


def test_it_switches_every_surface_off_at_once_without_a_bump(client, twins):
    """R30: a bare UPDATE of the flag, no signal: the next request of each surface obeys."""
    a, b = twins
    _bytes(client, a)
    Shop.objects.for_company(a.company).filter(pk=a.pk).update(public_pages_disabled=True)
    statuses = {s: client.get(f"/c/{a.slug}/{s}").status_code for s in SURFACES}
    assert statuses == {
        "": 410,
        "widget.js": 200,  # a harmless "not available" script: scripts need a 200 to run
        "seal.svg": 200,  # a grey "not available" badge: images need a 200 to show
        "widget/": 200,
        "feeds/product-ratings.xml": 410,
    }
    assert b"Twin Shop" not in client.get(f"/c/{a.slug}/widget/").content
    assert _bytes(client, b)


def test_it_serves_uncached_when_redis_is_down(client, twins, monkeypatch):
    """FA-3: a cache outage costs speed, never the page."""

    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "get_many", down)
    monkeypatch.setattr(cache, "set", down)
    response = client.get(f"/c/{twins[0].slug}/seal.svg")
    assert response.status_code == 200
    assert response["ETag"]
