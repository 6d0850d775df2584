"""The evaluator's whole path in a real browser (R5, R7, R12-R13, AU-4; issue: rating page).

An order goes in through the API, the invitation email lands in a real SMTP server, its link is
opened in Chromium, stars, a comment and a photo are entered, and the review then shows on the
shop's certificate page.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from companies.services import api_key_create
from invitations.models import Invitation
from invitations.sending import invitations_send_due
from reviews.models import Review, ReviewMedia
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def _photo(tmp_path):
    path = tmp_path / "parcel.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), "teal").save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def _post_order(shop) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(shop=shop, name='e2e')[1]}")
    order = {
        "order_id": "E2E-1",
        "email": "kim@example.net",
        "first_name": "Kim",
        "locale": "en",
        "order_date": timezone.now().isoformat(),
        "items": [{"product_id": "TR-2", "name": "Trail Runner 2"}],
    }
    response = client.post("/api/v1/orders", json.dumps(order), content_type="application/json")
    assert response.status_code == 201, response.content


def _rating_link(sink, shop) -> str:
    Invitation.objects.for_company(shop.company).update(due_at=timezone.now())
    assert invitations_send_due() == 1
    message = sink.wait_for(1)[0].message
    assert message["To"] == "kim@example.net"
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://\S+/r/[A-Za-z0-9_-]{43}/", text).group(0)


def test_it_takes_an_evaluator_from_the_email_to_the_certificate_page(
    live_server, settings, mail_sink, eager_tasks, chromium, tmp_path
):
    """The send task runs in this process (``eager_tasks``); delivery through a worker has its
    own live tests."""
    settings.SITE_URL = live_server.url
    shop = factories.ShopFactory(name="ACME-A Outdoor", slug="acme-a-outdoor")
    _post_order(shop)
    link = _rating_link(mail_sink, shop)
    assert link.startswith(live_server.url)

    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(link)
    assert page.url == f"{live_server.url}/r/"  # AU-4: the token left the address bar
    assert "ACME-A Outdoor" in page.inner_text("h1")

    page.get_by_label("5 – very good").first.check()
    page.get_by_label("Your experience").fill("Fast delivery, shoes fit perfectly.")
    page.locator("fieldset.product").get_by_label("4 – good").check()
    page.get_by_label("Photos (optional)").set_input_files(str(_photo(tmp_path)))
    page.get_by_role("button", name="Submit rating").click()
    page.wait_for_url(f"{live_server.url}/r/thanks/")
    assert "Thank you for your rating" in page.inner_text("h1")
    page.screenshot(path=str(tmp_path / "thanks.png"))

    page.goto(f"{live_server.url}/c/{shop.slug}/")
    assert "Fast delivery, shoes fit perfectly." in page.inner_text("main")
    assert errors == []
    assert context.cookies(live_server.url) is not None
    context.close()

    merchant = Review.objects.for_company(shop.company).get(kind="merchant")
    assert (merchant.rating, merchant.status, merchant.is_transaction_based) == (
        5,
        "published",
        True,
    )
    assert Review.objects.for_company(shop.company).get(kind="product").rating == 4
    assert ReviewMedia.objects.for_company(shop.company).count() == 1
    assert Invitation.objects.for_company(shop.company).get().status == "rated"
