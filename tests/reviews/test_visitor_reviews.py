"""Reviews without an order, written on the certificate page after email confirmation (R14)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail, signing
from django.utils import timezone

from companies.models import Shop
from reviews import notifications, services
from reviews.models import Review
from seals.services import seal_recompute
from tests import factories

pytestmark = pytest.mark.django_db

FORM = {"rating": "1", "comment": "Never again.", "display_name": "Pat", "email": "pat@example.org"}


@pytest.fixture
def open_shop(shop):
    Shop.objects.for_company(shop.company).filter(pk=shop.pk).update(
        non_transaction_reviews_enabled=True
    )
    shop.refresh_from_db()
    return shop


def write_url(shop):
    return f"/r/write/{shop.slug}/"


def visitor_reviews(shop):
    return Review.objects.for_company(shop.company).filter(shop=shop, is_transaction_based=False)


def unique_address() -> str:
    import secrets

    return "10.77." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(2))


def test_it_is_closed_unless_the_shop_enables_it(client, shop):
    """R14: enabled per shop."""
    assert client.get(write_url(shop)).status_code == 410
    assert client.post(write_url(shop), FORM).status_code == 410
    assert not visitor_reviews(shop).exists()


def test_it_publishes_only_after_the_email_is_confirmed(client, open_shop):
    """R14: held until the link in the email is used; the address is then erased."""
    page = client.get(write_url(open_shop))
    assert "not based on a verified order" in page.content.decode()
    response = client.post(write_url(open_shop), FORM, REMOTE_ADDR=unique_address())
    assert response.status_code == 200
    review = visitor_reviews(open_shop).get()
    assert (review.status, review.author_email, review.invitation_id) == (
        "pending",
        "pat@example.org",
        None,
    )
    assert notifications.review_confirmation_send(review_id=review.pk) is True
    message = mail.outbox[-1]
    assert message.to == ["pat@example.org"]
    url = re.search(r"http://\S+/r/confirm/\S+/", message.body).group(0)
    path = url.split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 200
    assert visitor_reviews(open_shop).get().status == "pending"  # GET alone changes nothing
    assert client.post("/" + path).status_code == 200
    review.refresh_from_db()
    assert (review.status, review.author_email) == ("published", "")
    assert client.post("/" + path).status_code == 200  # a second click is harmless
    assert notifications.review_confirmation_send(review_id=review.pk) is False


def test_it_labels_them_and_never_counts_them(client, open_shop):
    """R14: labelled on the certificate page; never in the average or the seal."""
    review = services.visitor_review_create(
        shop=open_shop, rating=1, comment="Never again.", display_name="", email="x@example.org"
    )
    services.visitor_review_confirm(token=services.visitor_confirmation_token(review))
    factories.ReviewFactory(shop=open_shop, rating=5)
    status = seal_recompute(shop_id=open_shop.pk)
    assert (status.review_count, status.rating_sum) == (1, 5)
    page = client.get(f"/c/{open_shop.slug}/").content.decode()
    assert "Never again." in page
    assert "not based on a verified order" in page


def test_it_refuses_a_tampered_or_foreign_token(client, open_shop, other_shop):
    review = services.visitor_review_create(
        shop=open_shop, rating=4, comment="Fine.", display_name="", email="x@example.org"
    )
    token = services.visitor_confirmation_token(review)
    assert client.post(f"/r/confirm/{token}x/").status_code == 404
    forged = signing.dumps({"r": review.pk, "c": other_shop.company_id}, salt="other")
    assert client.post(f"/r/confirm/{forged}/").status_code == 404
    assert visitor_reviews(open_shop).get().status == "pending"


def test_it_explains_missing_fields_and_stores_nothing(client, open_shop):
    response = client.post(write_url(open_shop), {"rating": "5"}, REMOTE_ADDR=unique_address())
    assert response.status_code == 400
    assert not visitor_reviews(open_shop).exists()


def test_it_limits_reviews_per_client_address(client, open_shop):
    address = unique_address()
    statuses = [
        client.post(write_url(open_shop), FORM, REMOTE_ADDR=address).status_code for _ in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    assert visitor_reviews(open_shop).count() == 5


def test_it_purges_unconfirmed_reviews_after_seven_days(open_shop):
    stale = services.visitor_review_create(
        shop=open_shop, rating=2, comment="old", display_name="", email="a@example.org"
    )
    confirmed = services.visitor_review_create(
        shop=open_shop, rating=3, comment="ok", display_name="", email="b@example.org"
    )
    services.visitor_review_confirm(token=services.visitor_confirmation_token(confirmed))
    Review.objects.unscoped().filter(pk__in=[stale.pk, confirmed.pk]).update(
        submitted_at=timezone.now() - datetime.timedelta(days=8)
    )
    assert services.reviews_purge_unconfirmed() == 1
    assert services.reviews_purge_unconfirmed() == 0
    assert list(visitor_reviews(open_shop).values_list("pk", flat=True)) == [confirmed.pk]
