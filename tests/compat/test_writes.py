"""putOrder, putProduct, putClient, assignClientOrder, putComment, putDialog as sent."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from companies.models import Product
from compat import php
from invitations import tokens
from invitations.models import Invitation, Order, OrderItem
from reviews.models import CompanyComment, DialogueMessage
from tests import factories
from tests.compat.conftest import unserialize

pytestmark = pytest.mark.django_db


def _invitation(shop, order_id):
    return Invitation.objects.for_company(shop.company_id).get(shop=shop, order__order_id=order_id)


def test_it_answers_put_order_serialized_by_default_with_the_rating_link(client, shop, auth):
    """R5: antoniolite/WooCommerce-eKomi omits type and unserialize()s the body."""
    response = client.get(f"/v3/putOrder?auth={auth}&version=cust-1.0.0&order_id=A-1")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    body = unserialize(response.content)
    invitation = _invitation(shop, "A-1")
    assert body["done"] == 1
    assert body["link"] == tokens.rating_url(invitation.token_nonce)
    assert body["hash"] == invitation.public_id.hex
    assert isinstance(body["done_at"], int)
    assert "known_since" not in body
    # No email in a putOrder: the shop mails the link itself, the platform never does.
    assert invitation.status == Invitation.Status.SUPPRESSED
    assert invitation.suppression_reason == Invitation.SuppressionReason.NO_EMAIL


def test_it_answers_a_repeated_put_order_with_the_same_link_and_known_since(client, shop, auth):
    """R5, ID-1: the same order id never makes a second invitation (nfxmedia reads known_since)."""
    query = f"/v3/putOrder?auth={auth}&version=cust-1.0.0&type=json&charset=utf-8&order_id=A-2"
    first = client.get(query).json()
    again = client.get(query).json()
    assert again["link"] == first["link"]
    assert again["known_since"] == int(_invitation(shop, "A-2").created_at.timestamp())
    assert Order.objects.for_company(shop.company_id).filter(order_id="A-2").count() == 1
    assert Invitation.objects.for_company(shop.company_id).filter(shop=shop).count() == 1


def test_it_links_put_order_products_and_replaces_them_on_request(client, shop, auth):
    """smytsyk SDK: product_ids comma list, product_ids_update_method append|replace."""
    base = f"/v3/putOrder?auth={auth}&version=cust-1.0.0&type=json&order_id=A-3"
    client.get(base + "&product_ids=P1,P2&ordertimestamp=2026-11-01")
    client.get(base + "&product_ids=P3")  # append
    order = Order.objects.for_company(shop.company_id).get(order_id="A-3")
    items = OrderItem.objects.for_company(shop.company_id).filter(order=order)
    assert set(items.values_list("product__product_id", flat=True)) == {"P1", "P2", "P3"}
    assert timezone.localdate(order.ordered_at).isoformat() == "2026-11-01"
    client.get(base + "&product_ids=P2&product_ids_update_method=replace")
    assert list(items.values_list("product__product_id", flat=True)) == ["P2"]


def test_it_accepts_put_order_as_a_post_with_the_dnest_timestamp_form(client, shop, auth):
    response = client.post(
        "/v3/putOrder",
        {"auth": auth, "type": "json", "order_id": "A-4", "ordertimestamp": "2026-10-02 13:14:15"},
    )
    assert response.json()["done"] == 1
    order = Order.objects.for_company(shop.company_id).get(order_id="A-4")
    assert order.ordered_at.minute == 14


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("&order_id=A-5&ordertimestamp=01.02.2026", "Invalid date. Expected: YYYY-MM-DD"),
        ("", "Something in your request was wrong."),
    ],
)
def test_it_refuses_bad_put_order_parameters_in_plain_text(client, auth, query, text):
    response = client.get(f"/v3/putOrder?auth={auth}&type=json{query}")
    assert response.status_code == 200
    assert response.content.decode() == text


def test_it_stores_put_product_with_json_product_other(client, shop, auth):
    other = {
        "image_url": "https://img.test/p.png",
        "brand_name": "Acme",
        "product_ids": {"mpn": "M-1", "ean": "4006381333931"},
        "links": [{"rel": "canonical", "type": "text/html", "href": "https://shop.test/p"}],
    }
    response = client.get(
        "/v3/putProduct",
        {
            "auth": auth,
            "type": "json",
            "product_id": "P9",
            "product_name": "Müller ✓ Mug",
            "product_other": json.dumps(other),
        },
    )
    assert response.json()["done"] == 1
    product = Product.objects.for_company(shop.company_id).get(shop=shop, product_id="P9")
    assert (product.name, product.brand, product.gtin, product.mpn) == (
        "Müller ✓ Mug",
        "Acme",
        "4006381333931",
        "M-1",
    )
    assert product.link == "https://shop.test/p"


def test_it_reads_a_php_serialized_product_other_of_v2_clients(client, shop, auth):
    """janoelze/ekomi sends product_other as a PHP serialize()d array, body unserialize()d."""
    other = php.dumps({"brand_name": "Bräu", "image_url": "https://img.test/b.png"}).decode()
    response = client.get(
        "/v3/putProduct", {"auth": auth, "product_id": "P10", "product_other": other}
    )
    assert unserialize(response.content)["done"] == 1
    product = Product.objects.for_company(shop.company_id).get(shop=shop, product_id="P10")
    assert (product.name, product.brand) == ("P10", "Bräu")


def test_it_assigns_a_put_client_to_the_orders_invitation(client, shop, auth):
    """No client entity: putClient + assignClientOrder store email and names on the invitation."""
    client.get(f"/v3/putOrder?auth={auth}&order_id=A-6")
    put = client.get(
        f"/v3/putClient?auth={auth}&type=json&client_id=C-1&email=kim@example.net"
        "&firstname=Kim&lastname=M%C3%BCller&update=true"
    )
    assert put.json()["done"] == 1
    assigned = client.get(f"/v3/assignClientOrder?auth={auth}&type=json&order_id=A-6&client_id=C-1")
    assert assigned.json()["done"] == 1
    invitation = _invitation(shop, "A-6")
    assert (invitation.email, invitation.first_name, invitation.last_name) == (
        "kim@example.net",
        "Kim",
        "Müller",
    )


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("order_id=NOPE&client_id=C-1", "Order-ID not found."),
        ("order_id=A-7&client_id=UNKNOWN", "Client id not known"),
    ],
)
def test_it_refuses_assign_client_order_for_unknown_ids(client, auth, query, text):
    client.get(f"/v3/putOrder?auth={auth}&order_id=A-7")
    assert client.get(f"/v3/assignClientOrder?auth={auth}&{query}").content.decode() == text


@pytest.fixture
def reviewed(shop):
    review = factories.ReviewFactory(shop=shop, dialogue_email="kim@example.net")
    return review, review.invitation.order.order_id


def test_it_sets_replaces_and_deletes_the_company_comment(client, shop, auth, reviewed):
    """R22: putComment is the shop's public reply, shown as ``comment`` by getFeedback."""
    review, order_id = reviewed
    base = f"/v3/putComment?auth={auth}&type=json&order_id={order_id}"
    assert client.get(base + "&comment=Danke%20sch%C3%B6n").json()["done"] == 1
    client.get(base + "&comment=Vielen+Dank&update=replace")
    comments = CompanyComment.objects.for_company(shop.company_id).filter(review=review)
    assert [c.text for c in comments] == ["Vielen Dank"]
    assert client.get(base + "&update=delete").json()["done"] == 1
    assert not comments.all().exists()


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("order_id=NOPE&comment=x", "Order-ID not found."),
        ("order_id={order}", "Empty comment parameter."),
        ("order_id={order}&comment=x&update=merge", "Invalid content for update parameter."),
    ],
)
def test_it_refuses_bad_put_comment_calls(client, auth, reviewed, query, text):
    query = query.format(order=reviewed[1])
    assert client.get(f"/v3/putComment?auth={auth}&{query}").content.decode() == text


def test_it_writes_a_put_dialog_message_to_the_evaluator(client, shop, auth, reviewed):
    review, order_id = reviewed
    response = client.get(
        f"/v3/putDialog?auth={auth}&type=json&order_id={order_id}&message=Wie%20k%C3%B6nnen%20wir"
    )
    assert response.json()["done"] == 1
    messages = DialogueMessage.objects.for_company(shop.company_id).filter(thread__review=review)
    assert [m.submitted_text for m in messages] == ["Wie können wir"]


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("message=hi", "OrderID empty."),
        ("order_id={order}", "Message parameter is empty"),
        ("order_id={silent}&message=hi", "Customer left no mail address."),
    ],
)
def test_it_refuses_bad_put_dialog_calls(client, shop, auth, reviewed, query, text):
    silent = factories.ReviewFactory(shop=shop, dialogue_email="").invitation.order.order_id
    query = query.format(order=reviewed[1], silent=silent)
    assert client.get(f"/v3/putDialog?auth={auth}&{query}").content.decode() == text


def test_it_decodes_comments_that_laravel_ekomi_urlencodes_twice(client, shop, auth, reviewed):
    """laravel-ekomi: urlencode("Sehr gut! 100%") and then http_build_query() again."""
    review, order_id = reviewed
    client.get(
        f"/v3/putComment?auth={auth}&version=cust-1.0.0&order_id={order_id}"
        "&comment=Sehr%2Bgut%2521%2B100%2525&update=replace&type=json&charset=iso"
    )
    comment = CompanyComment.objects.for_company(shop.company_id).get(review=review)
    assert comment.submitted_text == "Sehr gut! 100%"


def test_it_reads_iso_8859_1_query_strings(client, shop, auth, reviewed):
    """charset=iso clients send Latin-1 bytes: %FC is ü, not a broken UTF-8 sequence."""
    review, order_id = reviewed
    client.get(
        f"/v3/putDialog?auth={auth}&order_id={order_id}&message=Gr%FC%DFe%20aus%20K%F6ln&charset=iso"
    )
    messages = DialogueMessage.objects.for_company(shop.company_id).filter(thread__review=review)
    assert [m.submitted_text for m in messages] == ["Grüße aus Köln"]
