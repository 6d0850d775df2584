"""The seal image /c/<slug>/seal.svg (R25, R26, R30, AU-8)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from companies.models import SealState, Shop
from seals.services import seal_recompute
from tests.seals.conftest import HOSTILE, make_reviews

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


def _seal(client, shop, **headers):
    return client.get(f"/c/{shop.slug}/seal.svg", **headers)


def _parsed(response) -> ET.Element:
    return ET.fromstring(response.content)  # noqa: S314 (our own image, parsed to check it)


def _texts(root: ET.Element) -> list[str]:
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def test_it_is_an_svg_that_is_harmless_when_opened_directly(client, gold_shop):
    """AU-8: the right type, no sniffing, a sandboxing CSP, cacheable, loadable anywhere."""
    response = _seal(client, gold_shop)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    )
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == "public, max-age=300"
    assert not response.cookies
    root = _parsed(response)
    assert root.tag == f"{SVG}svg"
    assert not [node for node in root.iter() if node.tag in (f"{SVG}script", f"{SVG}image")]
    assert not [node for node in root.iter() if node.tag == f"{SVG}foreignObject"]
    assert "href" not in response.content.decode()
    assert "on" not in {attr[:2] for node in root.iter() for attr in node.attrib}


def test_it_shows_tier_colour_average_and_status_date_with_a_title(client, gold_shop):
    """R25, R26: the seal in its tier's colour, the average, and "Status as of"."""
    root = _parsed(_seal(client, gold_shop))
    today = timezone.localdate().strftime("%d/%m/%Y")
    title = root.find(f"{SVG}title").text
    assert title == (
        f"ACME-A Shop. Gold seal. 5.0 out of 5 stars. 50 reviews in 12 months. "
        f"Status as of {today}."
    )
    assert root.get("role") == "img" and root.get("aria-labelledby") == "seal-title"
    assert root.find(f"{SVG}circle").get("fill") == "#8a6500"
    texts = _texts(root)
    assert "GOLD" in texts and "Gold seal" in texts and "5.0/5" in texts
    assert f"Status as of {today}" in texts


def test_it_follows_the_tier(client, shop):
    """R25: 244 stars over 51 reviews is 4.78, silver: silver's label and colour."""
    make_reviews(shop, [4] * 11 + [5] * 40)
    seal_recompute(shop_id=shop.pk)
    root = _parsed(_seal(client, shop))
    assert "Silver seal" in _texts(root) and "4.7/5" in _texts(root)
    assert root.find(f"{SVG}circle").get("fill") == "#5b6470"


def test_it_escapes_a_hostile_shop_name(client, gold_shop):
    """AU-8, IN-5: the name is XML text in the title, never markup."""
    Shop.objects.for_company(gold_shop.company).filter(pk=gold_shop.pk).update(
        name="".join(HOSTILE)
    )
    response = _seal(client, gold_shop)
    body = response.content.decode()
    assert "<script>" not in body and "]]>" not in body
    root = _parsed(response)
    assert root.find(f"{SVG}title").text.startswith("".join(HOSTILE) + ".")


def test_it_shows_no_tier_for_a_withdrawn_seal(client, gold_shop):
    """R30: withdrawn or suspended, the image keeps the average but loses the tier."""
    Shop.objects.for_company(gold_shop.company).filter(pk=gold_shop.pk).update(
        seal_state=SealState.SUSPENDED
    )
    root = _parsed(_seal(client, gold_shop))
    texts = _texts(root)
    assert "Customer reviews" in texts and "5.0/5" in texts
    assert not {"GOLD", "Gold seal"} & set(texts)
    assert root.find(f"{SVG}circle").get("fill") == "#6b7280"


def test_it_is_a_grey_not_available_badge_when_switched_off(client, gold_shop):
    """R30, R31: every surface at once; nothing about the shop."""
    _seal(client, gold_shop)
    Shop.objects.for_company(gold_shop.company).filter(pk=gold_shop.pk).update(
        public_pages_disabled=True
    )
    response = _seal(client, gold_shop)
    assert response.status_code == 200  # an <img> shows a 200 only
    assert response["Cache-Control"] == "no-cache"
    root = _parsed(response)
    assert root.find(f"{SVG}title").text == "Reviews are not available."
    assert root.find(f"{SVG}circle").get("fill") == "#6b7280"
    assert "ACME" not in response.content.decode()


def test_it_speaks_the_browsers_language(client, gold_shop):
    root = _parsed(_seal(client, gold_shop, HTTP_ACCEPT_LANGUAGE="de"))
    texts = _texts(root)
    assert "Gold-Siegel" in texts and "5,0/5" in texts
    assert any(text.startswith("Stand: ") for text in texts)


def test_it_answers_304_and_costs_one_query_when_cached(client, gold_shop):
    """LO-2: one query rendered or cached: the shop row carries its seal."""
    with CaptureQueriesContext(connection) as rendered:
        etag = _seal(client, gold_shop)["ETag"]
    assert len(rendered) == 1  # the shop by slug with its company and its merchant seal
    with CaptureQueriesContext(connection) as cached:
        again = _seal(client, gold_shop, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert len(cached) == 1  # the shop by slug
