"""getFeedback, getProductfeedback, getSnapshot, getSettings, getAverage, getDialog as clients
call them: default types and charsets per the reference, body shapes the clients read."""

from __future__ import annotations

import datetime
import json

import pytest
from django.utils import timezone

from moderation.dialogue import dialogue_company_write
from reviews.models import Review
from seals.models import SealStatus
from seals.services import seal_recompute
from tests import factories
from tests.compat.conftest import unserialize

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviews(shop):
    now = timezone.now()
    good = factories.ReviewFactory(
        shop=shop, rating=5, comment="Schnell,\nsehr gut ✓", submitted_at=now
    )
    bad = factories.ReviewFactory(
        shop=shop,
        rating=2,
        comment="Müller said no",
        submitted_at=now - datetime.timedelta(days=60),
    )
    factories.ReviewFactory(shop=shop, rating=4, status=Review.Status.PENDING)
    seal_recompute(shop_id=shop.pk)
    return good, bad


def _order_id(review):
    return review.invitation.order.order_id


def test_it_answers_get_feedback_json_as_a_top_level_array(client, auth, reviews):
    """Tableau/WordPress consumers: [{submitted, order_id, rating, review, comment}]."""
    good, bad = reviews
    response = client.get(f"/v3/getFeedback?auth={auth}&version=cust-1.0.0&type=json&charset=utf-8")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = json.loads(response.content)
    assert [row["order_id"] for row in body] == [_order_id(good), _order_id(bad)]
    assert body[0] == {
        "submitted": int(good.submitted_at.timestamp()),
        "order_id": _order_id(good),
        "rating": 5,
        "review": "Schnell,\nsehr gut ✓",
        "comment": "",
    }


def test_it_answers_get_feedback_csv_in_iso_by_default(client, auth, reviews):
    """KB: type csv and charset iso by default; newlines travel as the two characters \\n."""
    good, bad = reviews
    response = client.get(f"/v3/getFeedback?auth={auth}&version=cust-1.0.0")
    assert response["Content-Type"] == "text/csv; charset=iso-8859-1"
    lines = response.content.decode("iso-8859-1").splitlines()
    stamp = int(good.submitted_at.timestamp())
    assert lines == [
        f'{stamp},{_order_id(good)},5,"Schnell,\\nsehr gut ?",',
        f"{int(bad.submitted_at.timestamp())},{_order_id(bad)},2,Müller said no,",
    ]


def test_it_filters_and_limits_get_feedback(client, auth, reviews):
    good, bad = reviews
    base = f"/v3/getFeedback?auth={auth}&type=json&charset=utf-8"
    assert [r["rating"] for r in client.get(base + "&filter=critical").json()] == [2]
    assert [r["rating"] for r in client.get(base + "&filter=positive").json()] == [5]
    assert [r["rating"] for r in client.get(base + "&range=1m").json()] == [5]
    assert client.get(base + "&fields=rating,date").json()[0] == {
        "rating": 5,
        "submitted": int(good.submitted_at.timestamp()),
    }


@pytest.mark.parametrize(
    ("query", "text"),
    [
        (
            "filter=best",
            "ERROR: Filter is not valid. Possible options: ([all]), [positive] and [critical].",
        ),
        ("fields=date,stars", "ERROR: Invalid content in parameter fields."),
        (
            "type=xml",
            "ERROR: Type is not valid. Possible options: ([csv]), [json] and [serialized].",
        ),
        ("charset=latin2", "ERROR: Charset is not valid. Possible options: [iso] and ([utf-8])."),
        (
            "range=2y",
            "ERROR: Range is not valid. Possible options: ([all]), [1w], [1m], [3m], [6m], [1y].",
        ),
    ],
)
def test_it_refuses_bad_get_feedback_parameters_in_plain_text(client, auth, query, text):
    response = client.get(f"/v3/getFeedback?auth={auth}&{query}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == text


def test_it_answers_get_productfeedback_like_the_prc_plugins_read_it(client, shop, reviews):
    """prc-magento2: interface_id + interface_pw, type=json, range=1w, no version."""
    product = factories.ProductFactory(shop=shop, product_id="SKU42")
    review = factories.ReviewFactory(
        shop=shop, kind=Review.Kind.PRODUCT, product=product, rating=4, comment="Passt"
    )
    factories.ReviewFactory(
        shop=shop, kind=Review.Kind.PRODUCT, product=factories.ProductFactory(shop=shop)
    )
    response = client.get(
        f"/v3/getProductfeedback?interface_id={shop.interface_id}&interface_pw=interface-password"
        "&type=json&charset=utf-8&range=1w&product=SKU42"
    )
    assert response.json() == [
        {
            "submitted": int(review.submitted_at.timestamp()),
            "order_id": _order_id(review),
            "product_id": "SKU42",
            "rating": 4,
            "review": "Passt",
        }
    ]
    csv_body = client.get(
        f"/v3/getProductfeedback?interface_id={shop.interface_id}&interface_pw=interface-password"
    )
    assert csv_body["Content-Type"] == "text/csv; charset=utf-8"  # utf-8 is this method's default
    assert len(csv_body.content.decode().splitlines()) == 2


def test_it_reports_get_snapshot_from_the_seal_status(client, shop, auth, reviews):
    """R24-R25: the same count, average and tier as the certificate (osimatic reads info.*)."""
    status = SealStatus.objects.for_company(shop.company_id).get(shop=shop, product__isnull=True)
    body = client.get(f"/v3/getSnapshot?auth={auth}&version=cust-1.0.0&type=json&range=all").json()
    info = body["info"]
    assert info["fb_count"] == str(status.review_count) == "2"
    assert info["fb_avg"] == str(status.average) == "3.5"
    assert info["fb_avg_detail"] == "3.50"
    assert info["account_name"] == "ACME-A Shop"
    assert info["ekomi_certificate"].endswith("/c/acme-a-shop/")
    assert info["seal"] == status.tier


def test_it_answers_get_snapshot_serialized_with_done_and_multibyte_names(client, shop, auth):
    """magmodules (v2) checks top-level done, then info.fb_count; lengths in UTF-8 bytes."""
    shop.name = "Müller ✓"
    shop.save()
    response = client.get(f"/v3/getSnapshot?auth={auth}&type=serialized&charset=utf-8")
    assert b's:11:"M\xc3\xbcller \xe2\x9c\x93";' in response.content
    body = unserialize(response.content)
    assert body["done"] == 1
    assert (body["info"]["fb_count"], body["info"]["fb_avg"]) == ("0", "0.0")


def test_it_answers_get_average_serialized_by_default(client, shop, auth, reviews):
    """KB getAverage: serialized default; exact (12 dp) and rounded (2 dp) averages and seal."""
    status = SealStatus.objects.for_company(shop.company_id).get(shop=shop, product__isnull=True)
    body = unserialize(client.get(f"/v3/getAverage?auth={auth}&version=cust-1.0.0").content)
    assert body == {
        "number_of_ratings": status.review_count,
        "exact_average": "3.500000000000",
        "rounded_average": "3.50",
        "seal": status.tier,
    }
    recent = client.get(f"/v3/getAverage?auth={auth}&type=json&days=30").json()
    assert (recent["number_of_ratings"], recent["rounded_average"]) == (1, "5.00")
    assert client.get(f"/v3/getAverage?auth={auth}&days=2000").content == (
        b"ERROR: Days is not valid. Possible options: 1 to 1095."
    )


def test_it_answers_get_settings_for_the_plugins_credential_check(client, shop, auth):
    """Every official plugin: type=request&charset=iso&app=PD-...; anything but 'Access denied'."""
    response = client.get(
        f"/v3/getSettings?auth={auth}&version=cust-1.0.0&type=request&charset=iso&app=PD-Magento-2"
    )
    assert response.status_code == 200
    assert response.content not in (b"", b"Access denied")
    assert b"mail_delay=" in response.content
    body = client.get(f"/v3/getSettings?auth={auth}&type=json&content=request").json()
    assert body["mail_from_name"] == "ACME-A Shop"


def test_it_lists_get_dialog_messages_per_order(client, shop, auth):
    review = factories.ReviewFactory(shop=shop, dialogue_email="kim@example.net")
    dialogue_company_write(review=review, text="Wie können wir helfen?")
    body = client.get(f"/v3/getDialog?auth={auth}&type=json").json()
    assert [(m["order_id"], m["sender"]) for m in body] == [(_order_id(review), "company")]


def test_it_lists_get_rated_orders_within_days(client, shop, auth):
    """smytsyk SDK: getRated&days=25; orders whose link was used, so the shop stops reminding."""
    recent = factories.InvitationFactory(shop=shop, used_at=timezone.now())
    factories.InvitationFactory(shop=shop, used_at=timezone.now() - datetime.timedelta(days=40))
    factories.InvitationFactory(shop=shop)
    body = client.get(f"/v3/getRated?auth={auth}&version=cust-1.0.0&type=json&days=25").json()
    assert body == [{"order_id": recent.order.order_id, "rated": int(recent.used_at.timestamp())}]
    assert len(client.get(f"/v3/getRated?auth={auth}&days=100").content.splitlines()) == 2


def test_it_lists_get_visitorfeedback_without_orders(client, shop, auth, reviews):
    """R14: reviews without an order; bhavinjr sends days=8&content=feedback,error."""
    visitor = factories.ReviewFactory(
        shop=shop, invitation=None, is_transaction_based=False, rating=3, comment="Als Besucher"
    )
    body = client.get(
        f"/v3/getVisitorfeedback?auth={auth}&type=json&days=8&content=feedback,error"
    ).json()
    assert body == [
        {
            "submitted": int(visitor.submitted_at.timestamp()),
            "rating": 3,
            "review": "Als Besucher",
            "comment": "",
        }
    ]


def test_it_reads_get_feedback_in_two_queries_whatever_the_count(
    client, shop, auth, reviews, django_assert_num_queries
):
    """STYLE.md 10: the hot read path does not grow with the number of reviews."""
    factories.ReviewFactory.create_batch(5, shop=shop)
    # 1: the shop by interface id (with its company); 2: reviews with order, product, comment.
    with django_assert_num_queries(2):
        body = client.get(f"/v3/getFeedback?auth={auth}&type=json").json()
    assert len(body) == 7


def test_it_answers_get_product_with_the_product_seal_numbers(client, shop, auth):
    """PRC eKomiAPI: getProduct&product=<putProduct id>&content=none; errors as laravel-ekomi."""
    product = factories.ProductFactory(shop=shop, product_id="MUG1", name="Müller ✓ Becher")
    factories.ReviewFactory(shop=shop, kind=Review.Kind.PRODUCT, product=product, rating=4)
    seal_recompute(shop_id=shop.pk)
    body = unserialize(
        client.get(f"/v3/getProduct?auth={auth}&product=MUG1&content=none&type=serialized").content
    )
    assert (body["product_name"], body["fb_count"], body["fb_avg"]) == (
        "Müller ✓ Becher",
        "1",
        "4.0",
    )
    assert client.get(f"/v3/getProduct?auth={auth}").content == b"Product parameter is empty."
    assert (
        client.get(f"/v3/getProduct?auth={auth}&product=NOPE").content == b"Product ID not found."
    )
