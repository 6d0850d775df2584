"""A rating submitted through the rating page reaches the seal through a real worker (R26)."""

from __future__ import annotations

from django.test import Client

from invitations import tokens
from reviews.models import Review
from seals.models import SealStatus
from tests import factories


def test_it_recomputes_the_seal_in_the_worker_after_a_rating_is_submitted(live, shop, other_shop):
    """R26, R13, R17: the form POST stores the reviews pending and queues their screening; the
    live worker publishes them and recomputes the merchant and product averages; the
    certificate page then shows the new count. The other company's shop is untouched."""
    invitation = factories.InvitationFactory(shop=shop, status="sent")
    item = factories.OrderItemFactory(shop=shop, order=invitation.order)
    client = Client()
    assert client.get(f"/r/{tokens.token_for(invitation.token_nonce)}/").status_code == 303
    response = client.post(
        "/r/",
        {
            "merchant_rating": "4",
            "merchant_comment": "Quick and friendly.",
            f"product_{item.product_id}_rating": "2",
            f"product_{item.product_id}_comment": "Too small.",
        },
    )
    assert response.status_code == 303

    statuses = SealStatus.objects.for_company(shop.company).filter(shop=shop)
    live.wait_until(lambda: statuses.count() == 2)
    live.wait_until_idle()
    reviews = Review.objects.for_company(shop.company).filter(invitation=invitation)
    assert sorted(reviews.values_list("status", "comment")) == [
        ("published", "Quick and friendly."),
        ("published", "Too small."),
    ]
    assert {(s.product_id, s.review_count, s.rating_sum) for s in statuses} == {
        (None, 1, 4),
        (item.product_id, 1, 2),
    }
    assert not SealStatus.objects.for_company(other_shop.company).filter(shop=other_shop).exists()
    page = Client().get(f"/c/{shop.slug}/")
    assert page.status_code == 200 and "4.0" in page.content.decode()
