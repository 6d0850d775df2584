"""`/api/v1/orders`: every order becomes exactly one invitation (R5-R8, ID-1, ID-2, IN-2)."""

from __future__ import annotations

import datetime
import json
import unicodedata

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from companies.models import Shop
from invitations import tokens
from invitations.models import (
    IdempotencyKey,
    Invitation,
    Order,
    OrderItem,
    Suppression,
    email_digest,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"


ORDER_DATE = (timezone.now() - datetime.timedelta(days=2)).replace(microsecond=0)


def order(order_id="A-1001", **extra):
    body = {
        "order_id": order_id,
        "email": "kim@example.net",
        "first_name": "Kim",
        "order_date": ORDER_DATE.isoformat(),
        "items": [{"product_id": "TR-2", "name": "Trail Runner 2", "gtin": "4006381333931"}],
    }
    body.update(extra)
    return body


def post(client, body, **headers):
    return client.post(URL, json.dumps(body), content_type="application/json", **headers)


def invitations_of(shop):
    return Invitation.objects.for_company(shop.company).filter(shop=shop)


def test_it_creates_one_order_with_one_invitation(api_client, shop):
    """R5, R7: the invitation is due at the order date plus the shop's delay (7 days)."""
    response = post(api_client, order())
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "created"
    invitation = invitations_of(shop).get()
    assert body["invitation"]["id"] == str(invitation.public_id)
    assert body["invitation"]["status"] == "scheduled"
    assert invitation.due_at == ORDER_DATE + datetime.timedelta(days=7)
    assert invitation.email == "kim@example.net"
    item = OrderItem.objects.for_company(shop.company).select_related("product").get()
    assert (item.product.product_id, item.product.gtin) == ("TR-2", "4006381333931")


def test_it_never_makes_a_second_invitation_for_a_known_order(api_client, shop):
    """R5, ID-1: the same order id again, even with changed data, answers 'known'."""
    first = post(api_client, order()).json()
    again = post(api_client, order(email="other@example.net"))
    assert again.status_code == 200
    assert again.json()["status"] == "known"
    assert again.json()["invitation"]["id"] == first["invitation"]["id"]
    assert invitations_of(shop).count() == 1
    assert invitations_of(shop).get().email == "kim@example.net"


def test_it_answers_each_order_of_a_bulk_request(api_client, shop):
    post(api_client, order("A-1"))
    response = post(api_client, [order("A-1"), order("A-2"), order("A-2"), order("A-3")])
    assert response.status_code == 201
    body = response.json()
    assert body["summary"] == {"created": 2, "known": 2, "rejected": 0}
    assert [r["status"] for r in body["results"]] == ["known", "created", "known", "created"]
    assert invitations_of(shop).count() == 3


def test_it_shows_the_invitation_status_but_never_the_token(api_client, shop):
    """AU-1: neither the token, its hash nor its nonce leave the server."""
    post(api_client, order())
    response = api_client.get(f"{URL}/A-1001")
    assert response.status_code == 200
    assert response.json()["invitation"]["status"] == "scheduled"
    invitation = invitations_of(shop).get()
    text = response.content.decode()
    for secret in (
        invitation.token_hash,
        invitation.token_nonce,
        tokens.token_for(invitation.token_nonce),
    ):
        assert secret not in text


def test_it_keeps_each_companys_orders_apart(api_client, other_api_client, shop, other_shop):
    """R4, TI-1, TI-2: a foreign order id is a 404; the same id elsewhere is another order."""
    post(other_api_client, order("SHARED-1", email="beta-b@example.net"))
    assert api_client.get(f"{URL}/SHARED-1").status_code == 404
    assert api_client.get(f"{URL}/SHARED-1").json() == api_client.get(f"{URL}/NOPE").json()
    response = post(api_client, order("SHARED-1"))
    assert response.status_code == 201
    theirs = invitations_of(other_shop).get()
    assert theirs.email == "beta-b@example.net"
    assert invitations_of(shop).get().email == "kim@example.net"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (order(email="not-an-email"), "email"),
        (order(order_id=""), "order_id"),
        (order(order_date="yesterday"), "order_date"),
        (order(order_date="9999-12-31T23:59:59Z"), "order_date"),
        (order(delivery_date="9999-12-31T00:00:00Z"), "delivery_date"),
        (order(status="rated"), "status"),
        (order(company=1), "company"),
        (order(token_hash="0" * 64), "token_hash"),
        (order(delivery_date="2020-10-01T00:00:00Z"), "delivery_date"),
        (order(items=[{"product_id": "X", "gtin": "12"}]), "items"),
        (order(locale="xx"), "locale"),
    ],
)
def test_it_refuses_bad_orders_and_writes_nothing(api_client, shop, body, field):
    """IN-2, TI-2: a clear 400 naming the order and field; nothing half-written."""
    response = post(api_client, [order("GOOD-1"), body])
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["index"] for e in errors] == [1]
    assert field in errors[0]["errors"]
    assert not Order.objects.for_company(shop.company).exists()


def test_it_refuses_malformed_json_an_empty_list_and_a_wrong_shape(api_client, shop):
    bad = api_client.post(URL, "{not json", content_type="application/json")
    assert bad.status_code == 400 and "JSON" in bad.json()["detail"]
    assert post(api_client, []).status_code == 400
    assert post(api_client, "text").status_code == 400
    assert post(api_client, [1, 2]).status_code == 400
    assert not Order.objects.for_company(shop.company).exists()


def test_it_refuses_more_than_ten_thousand_orders(api_client, shop):
    response = post(api_client, [order(f"O-{n}") for n in range(10_001)])
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_orders"
    assert not Order.objects.for_company(shop.company).exists()


def test_it_refuses_an_oversized_body_with_413(api_client, shop):
    """IN-2: the body limit holds for JSON (DRF >= 3.17.2), decided before parsing."""
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2_000):
        response = post(api_client, [order(f"O-{n}") for n in range(50)])
    assert response.status_code == 413
    assert "detail" in response.json()
    assert not Order.objects.for_company(shop.company).exists()


def test_it_handles_ten_thousand_orders_with_a_constant_number_of_queries(api_client, shop):
    """R5: bulk ingest is set-based; 10,000 orders take as many queries as 3."""
    # The first order stamps the key's last use and makes the shop live: one-off UPDATEs.
    post(api_client, order("FIRST"))
    with CaptureQueriesContext(connection) as small:
        assert post(api_client, [order(f"S-{n}") for n in range(3)]).status_code == 201
    with CaptureQueriesContext(connection) as large:
        response = post(api_client, [order(f"L-{n}") for n in range(10_000)])
    assert response.status_code == 201
    assert response.json()["summary"]["created"] == 10_000
    assert len(large.captured_queries) == len(small.captured_queries)
    assert invitations_of(shop).count() == 10_004


def test_it_suppresses_without_consent_and_for_unsubscribed_addresses(api_client, shop):
    """R6: the order is kept, but nobody is emailed."""
    Suppression.objects.for_company(shop.company).create(
        company=shop.company,
        shop=shop,
        email_digest=email_digest("gone@example.net"),
        reason="unsubscribed",
    )
    post(api_client, [order("C-1", consent=False), order("C-2", email="Gone@Example.NET")])
    reasons = dict(invitations_of(shop).values_list("order__order_id", "suppression_reason"))
    assert reasons == {"C-1": "no_consent", "C-2": "unsubscribed"}
    assert set(invitations_of(shop).values_list("status", flat=True)) == {"suppressed"}


def test_it_rejects_an_opt_out_without_an_approved_selection_group(api_client, shop):
    """R8: every order is invited unless staff approved a defined selection group."""
    response = post(api_client, [order("N-1", invite=False), order("N-2")])
    assert response.status_code == 201
    rejected = response.json()["results"][0]
    assert (rejected["status"], rejected["code"]) == ("rejected", "not_invitable")
    assert "selection group" in rejected["reason"]
    assert not Order.objects.for_company(shop.company).filter(order_id="N-1").exists()
    Shop.objects.for_company(shop.company).filter(pk=shop.pk).update(
        selection_group_criteria="Only orders above 20 EUR",
        selection_group_approved_at=timezone.now(),
    )
    response = post(api_client, order("N-3", invite=False))
    assert response.status_code == 201
    assert invitations_of(shop).get(order__order_id="N-3").suppression_reason == "selection_group"


def test_it_normalizes_emails_once_before_storing_them(api_client, shop):
    """IN-4: NFC, IDNA domain in lower case, local part kept."""
    nfd = unicodedata.normalize("NFD", "Müller@Bücher.DE")
    post(api_client, order("U-1", email=nfd))
    assert invitations_of(shop).get().email == "Müller@xn--bcher-kva.de"
    nfc = unicodedata.normalize("NFC", "Müller@bücher.de")
    assert post(api_client, order("U-2", email=nfc)).status_code == 201
    assert set(invitations_of(shop).values_list("email", flat=True)) == {"Müller@xn--bcher-kva.de"}


def test_it_times_invitations_from_the_delivery_date_when_the_shop_says_so(api_client, shop):
    """R7: delay counted from delivery; the first order makes the shop live (R32)."""
    Shop.objects.for_company(shop.company).filter(pk=shop.pk).update(
        delay_basis="delivery", invitation_delay_days=3
    )
    delivered = ORDER_DATE + datetime.timedelta(days=1)
    post(api_client, order("D-1", delivery_date=delivered.isoformat()))
    invitation = invitations_of(shop).get()
    assert invitation.due_at == delivered + datetime.timedelta(days=3)
    assert Shop.objects.for_company(shop.company).get(pk=shop.pk).went_live_at is not None


def test_it_replays_the_first_answer_for_a_repeated_idempotency_key(api_client, shop):
    """ID-2(a): same key and body: same status and body, marked as a replay."""
    first = post(api_client, order(), HTTP_IDEMPOTENCY_KEY="key-1")
    again = post(api_client, order(), HTTP_IDEMPOTENCY_KEY="key-1")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first


def test_it_refuses_a_reused_idempotency_key_with_another_body(api_client, shop):
    """ID-2(b): 422, and nothing from the second body is stored."""
    post(api_client, order("K-1"), HTTP_IDEMPOTENCY_KEY="key-2")
    response = post(api_client, order("K-2"), HTTP_IDEMPOTENCY_KEY="key-2")
    assert response.status_code == 422
    assert not Order.objects.for_company(shop.company).filter(order_id="K-2").exists()


def test_it_answers_409_while_the_first_request_with_a_key_runs(api_client, shop):
    """ID-2(c): a retry during the first request does not run twice."""
    from invitations.idempotency import request_fingerprint

    body = json.dumps(order()).encode()
    IdempotencyKey.objects.for_company(shop.company).create(
        company=shop.company,
        shop=shop,
        key="key-3",
        fingerprint=request_fingerprint(method="POST", path=URL, body=body),
    )
    response = api_client.post(
        URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="key-3"
    )
    assert response.status_code == 409
    assert response["Retry-After"]
    assert not Order.objects.for_company(shop.company).exists()


def test_it_keeps_idempotency_keys_apart_per_shop(api_client, other_api_client, shop, other_shop):
    """ID-2(d): A and B using the same key value do not collide."""
    post(api_client, order("P-1"), HTTP_IDEMPOTENCY_KEY="same")
    response = post(other_api_client, order("P-2"), HTTP_IDEMPOTENCY_KEY="same")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


def test_it_forgets_keys_after_24_hours_but_still_dedupes_the_order(api_client, shop):
    """ID-2(e): after the TTL the key is new; the order id still prevents a duplicate."""
    post(api_client, order("T-1"), HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyKey.objects.for_company(shop.company).update(
        created_at=timezone.now() - datetime.timedelta(hours=25)
    )
    response = post(api_client, order("T-1"), HTTP_IDEMPOTENCY_KEY="old")
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert response.json()["status"] == "known"
    assert invitations_of(shop).count() == 1


def test_it_refuses_an_overlong_idempotency_key(api_client, shop):
    response = post(api_client, order(), HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert response.status_code == 400
    assert not Order.objects.for_company(shop.company).exists()


def test_it_needs_an_api_key(client, shop):
    assert post(client, order()).status_code == 401
    assert not Order.objects.for_company(shop.company).exists()
