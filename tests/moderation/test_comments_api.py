"""Company comments through ``/api/v1/reviews`` (R22, 004 §2.18, §8.1-8.2).

One public comment per review, editable, checked by the same rules as reviews (personal data is
never allowed), in the API with its review; another company's review answers 404 (R4).
"""

from __future__ import annotations

import pytest

from moderation.models import ModerationFinding
from reviews.models import CompanyComment, Review
from tests import factories

pytestmark = pytest.mark.django_db

API = "/api/v1/reviews"


def comment_url(review) -> str:
    return f"{API}/{review.public_id}/comment"


def test_it_lists_the_shops_published_reviews_with_their_comments(api_client, shop, other_shop):
    """Only this shop's published reviews, newest first; no evaluator address anywhere."""
    mine = factories.ReviewFactory(
        shop=shop, comment="ACME-A great", dialogue_email="kim.dialogue@example.net"
    )
    factories.ReviewFactory(shop=shop, status=Review.Status.HELD, published_at=None)
    factories.ReviewFactory(shop=other_shop, comment="BETA-B secret")
    api_client.put(comment_url(mine), {"text": "Thank you!"}, format="json")

    response = api_client.get(API)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    (item,) = body["results"]
    assert item["id"] == str(mine.public_id)
    assert item["company_comment"]["text"] == "Thank you!"
    assert item["dialogue_available"] is True
    text = response.content.decode()
    assert "BETA-B" not in text and "kim.dialogue" not in text


def test_it_writes_edits_and_withdraws_the_one_comment(api_client, shop):
    review = factories.ReviewFactory(shop=shop)
    created = api_client.put(comment_url(review), {"text": "Thanks, Kim."}, format="json")
    assert created.status_code == 201
    assert created.json()["status"] == "published"
    edited = api_client.put(comment_url(review), {"text": "Thanks again."}, format="json")
    assert edited.status_code == 200
    assert (edited.json()["text"], edited.json()["version"]) == ("Thanks again.", 2)
    assert CompanyComment.objects.for_company(shop.company).count() == 1
    assert api_client.get(comment_url(review)).json()["text"] == "Thanks again."
    assert api_client.delete(comment_url(review)).status_code == 204
    assert api_client.get(comment_url(review)).status_code == 404
    assert api_client.delete(comment_url(review)).status_code == 404


def test_it_stars_out_personal_data_in_a_company_comment(api_client, shop):
    """R22, 004 §8.2: no personal data in company comments; the rule and span are recorded."""
    review = factories.ReviewFactory(shop=shop)
    text = "Sorry Kim, call us on 0170 1234567 or write to kim@example.net"
    response = api_client.put(comment_url(review), {"text": text}, format="json")
    assert response.status_code == 201
    assert response.json()["text"] == "Sorry Kim, call us on *** or write to ***"
    assert response.json()["status"] == "published"
    rules = ModerationFinding.objects.for_company(shop.company).values_list("rule", flat=True)
    assert sorted(rules) == ["email", "phone"]


def test_it_holds_an_unclear_company_comment_for_a_moderator(api_client, shop):
    """R22: a threat waits for a moderator; the company sees its comment as held."""
    review = factories.ReviewFactory(shop=shop)
    first = api_client.put(comment_url(review), {"text": "Thanks for the feedback."}, format="json")
    assert first.json()["status"] == "published"
    held = api_client.put(comment_url(review), {"text": "We know where you live."}, format="json")
    assert held.json()["status"] == "held"
    listed = api_client.get(f"{API}/{review.public_id}").json()
    assert listed["company_comment"]["status"] == "held"
    assert CompanyComment.objects.for_company(shop.company).get().published_at is None


def test_it_refuses_an_empty_comment_and_unknown_fields(api_client, shop):
    review = factories.ReviewFactory(shop=shop)
    assert api_client.put(comment_url(review), {"text": "  "}, format="json").status_code == 400
    response = api_client.put(
        comment_url(review), {"text": "Hi", "status": "published"}, format="json"
    )
    assert response.status_code == 400 and "status" in response.json()


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_it_answers_another_companys_review_like_a_missing_one(api_client, other_shop, method):
    """R4, TI-1: 404 for the outsider's review, whose comment stays untouched."""
    review = factories.ReviewFactory(shop=other_shop)
    CompanyComment.objects.unscoped().create(
        company=other_shop.company,
        shop=other_shop,
        review=review,
        text="BETA-B",
        submitted_text="B",
    )
    call = getattr(api_client, method)
    response = call(comment_url(review), {"text": "hijack"}, format="json")
    assert response.status_code == 404
    assert "BETA-B" not in response.content.decode()
    assert api_client.get(f"{API}/{review.public_id}").status_code == 404
    assert CompanyComment.objects.unscoped().get(review=review).text == "BETA-B"


def test_it_does_not_comment_on_a_held_review(api_client, shop):
    review = factories.ReviewFactory(shop=shop, status=Review.Status.HELD, published_at=None)
    response = api_client.put(comment_url(review), {"text": "Hello"}, format="json")
    assert response.status_code == 404


def test_it_lists_reviews_in_a_fixed_number_of_queries(
    api_client, shop, django_assert_max_num_queries
):
    """STYLE.md 10: product and comment are joined, not fetched per review."""
    for _ in range(5):
        review = factories.ReviewFactory(shop=shop)
        CompanyComment.objects.unscoped().create(
            company=shop.company, shop=shop, review=review, text="Thanks", submitted_text="Thanks"
        )
    # API key lookup, its last-used stamp, COUNT for the page, the page of reviews with their
    # products and comments joined.
    with django_assert_max_num_queries(4):
        response = api_client.get(API)
    assert response.json()["count"] == 5
