"""What a bulk `POST /api/v1/orders` answers and stores beyond the basics of test_orders_api
(R5, ID-1, IN-1): known orders, unusual but valid values, exact error messages, fixed queries."""

from __future__ import annotations

import datetime
import json
import threading
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invitations.ingest import OrderInput, due_at_for, orders_ingest
from invitations.models import Invitation, Order, OrderItem

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"
ORDER_DATE = (timezone.now() - datetime.timedelta(days=2)).replace(microsecond=0)


def order(order_id="A-1001", **extra):
    body = {
        "order_id": order_id,
        "email": "kim@example.net",
        "first_name": "Kim",
        "order_date": ORDER_DATE.isoformat(),
        "items": [{"product_id": "TR-2", "name": "Trail Runner 2"}],
    }
    body.update(extra)
    return body


def post(client, body):
    return client.post(URL, json.dumps(body), content_type="application/json")


def test_it_shows_each_invitation_in_the_bulk_answer_as_the_status_endpoint_does(api_client, shop):
    """R5, ID-1: a new and a known order's invitation, with every time set, read the same in
    the bulk answer as in `GET /api/v1/orders/{order_id}`."""
    post(api_client, order("K-1"))
    now = timezone.now().replace(microsecond=123456)
    Invitation.objects.for_company(shop.company).filter(order__order_id="K-1").update(
        status="rated", sent_at=now, reminders_sent=1, used_at=now + datetime.timedelta(hours=1)
    )
    answer = post(api_client, [order("K-1"), order("N-1", consent=False)]).json()["results"]
    for result in answer:
        status = api_client.get(f"{URL}/{result['order_id']}").json()
        assert result["invitation"] == status["invitation"]
    assert answer[0]["invitation"]["status"] == "rated"
    assert answer[0]["invitation"]["rated_at"] is not None
    assert answer[1]["invitation"]["suppression_reason"] == "no_consent"


def test_it_adds_new_items_to_a_known_order_without_a_second_invitation(api_client, shop):
    """R5, R13: a repeated order may bring more products; it still has one invitation."""
    post(api_client, order("I-1"))
    again = order("I-1", items=[{"product_id": "TR-2"}, {"product_id": "TR-3", "name": "Trail 3"}])
    response = post(api_client, [again])
    assert response.json()["summary"] == {"created": 0, "known": 1, "rejected": 0}
    items = OrderItem.objects.for_company(shop.company).filter(order__order_id="I-1")
    assert sorted(items.values_list("product__product_id", flat=True)) == ["TR-2", "TR-3"]
    assert Invitation.objects.for_company(shop.company).filter(order__order_id="I-1").count() == 1


def test_it_takes_unusual_but_valid_values_as_it_always_did(api_client, shop):
    """IN-1: a number as order id, "false" as a flag and padded text stay accepted."""
    response = post(
        api_client,
        [order(1001), order(" U-2 ", consent="false", invite="true", first_name=" Kim ")],
    )
    assert response.status_code == 201, response.json()
    stored = Order.objects.for_company(shop.company).select_related("invitation")
    assert sorted(stored.values_list("order_id", "consent")) == [("1001", True), ("U-2", False)]
    assert stored.get(order_id="U-2").invitation.first_name == "Kim"


def test_it_reports_every_bad_order_with_its_field_and_message(api_client, shop):
    """IN-1, IN-2: each bad order is named by index and id, with the message for each field;
    nothing of the request is stored."""
    response = post(
        api_client,
        [
            order("G-1"),
            order("B-1", email="kim.example.net"),
            order("G-2"),
            order("", items=[{"product_id": "P", "gtin": "12"}], locale="fr"),
        ],
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_orders"
    assert body["errors"] == [
        {
            "index": 1,
            "order_id": "B-1",
            "errors": {
                "email": ["Enter a valid email address: An email address must have an @-sign."]
            },
        },
        {
            "index": 3,
            "order_id": "",
            "errors": {
                "order_id": ["This field may not be blank."],
                "locale": ['"fr" is not a valid choice.'],
                "items": {"0": {"gtin": ["A GTIN has 8 to 14 digits."]}},
            },
        },
    ]
    assert not Order.objects.for_company(shop.company).exists()


def test_it_answers_a_repeated_batch_with_a_constant_number_of_queries(api_client, shop):
    """R5, ID-1: a retried batch of known orders costs as many queries for 2,000 as for 3."""
    post(api_client, order("FIRST"))
    small = [order(f"S-{n}") for n in range(3)]
    large = [order(f"L-{n}") for n in range(2_000)]
    post(api_client, small), post(api_client, large)
    with CaptureQueriesContext(connection) as small_again:
        assert post(api_client, small).json()["summary"]["known"] == 3
    with CaptureQueriesContext(connection) as large_again:
        assert post(api_client, large).json()["summary"]["known"] == 2_000
    assert len(large_again.captured_queries) == len(small_again.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_it_creates_each_order_once_when_two_requests_race(shop):
    """R5, ID-1, LO-1: two concurrent batches with the same orders in opposite order: one
    invitation per order, each answered "created" by exactly one of them, no deadlock."""
    orders = [OrderInput(order_id=f"R-{n}", email="kim@example.net") for n in range(300)]
    start = threading.Barrier(2)
    answers: list[list] = []
    failures: list[BaseException] = []

    def ingest(batch):
        try:
            start.wait()
            answers.append(orders_ingest(shop=shop, orders=batch))
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest, args=(batch,)) for batch in (orders, orders[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    created = [r.order_id for results in answers for r in results if r.outcome == "created"]
    assert sorted(created) == sorted(o.order_id for o in orders)
    assert all(r.invitation is not None for results in answers for r in results)
    assert Invitation.objects.for_company(shop.company).count() == 300


def test_it_schedules_the_same_instant_whatever_zone_the_order_date_came_in_r7(shop):
    """R7: the delay is whole days of 24 hours, as reminders and link expiry count them. An order
    date the API read in local time and the same instant with its UTC offset (as a CSV may give
    it) are due at the same moment, also across Berlin's change to summer time (29 March 2026),
    where adding days in local time would make one of them due an hour early."""
    local = datetime.datetime(2026, 3, 26, 0, 45, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    utc = local.astimezone(datetime.UTC)
    before = utc - datetime.timedelta(days=1)
    week = datetime.timedelta(days=shop.invitation_delay_days)
    from_api = due_at_for(shop, OrderInput(order_id="A-1", ordered_at=local), before)
    from_csv = due_at_for(shop, OrderInput(order_id="A-1", ordered_at=utc), before)
    assert from_api == from_csv == utc + week  # aware datetimes compare as instants
